using System.Buffers.Text;
using System.Globalization;
using System.Text;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// The guide's body for <c>POST /api/chat/channels</c>. Only <see cref="AppointmentId"/> is needed: the
/// appointment record is the truth, and the other fields must agree with it.
/// </summary>
internal sealed record CreateChannelRequest(
    string? AppointmentId,
    string? PetOwnerId = null,
    string? VetId = null,
    LocalOrOffsetTime? AppointmentTime = null,
    int? ActivationMinutes = null)
{
    public bool Validate(RequestErrors errors)
    {
        if (string.IsNullOrEmpty(AppointmentId))
        {
            errors.Add("appointmentId", "is required.");
        }
        else if (!AppointmentsApi.IsValidAppointmentId(AppointmentId))
        {
            errors.Add("appointmentId", StreamIds.Describe(Appointment.MaxIdLength, allowAt: false));
        }

        if (PetOwnerId is not null && !StreamIds.IsValidUserId(PetOwnerId))
        {
            errors.Add("petOwnerId", StreamIds.Describe(StreamIds.MaxUserIdLength, allowAt: true));
        }

        if (VetId is not null && !StreamIds.IsValidUserId(VetId))
        {
            errors.Add("vetId", StreamIds.Describe(StreamIds.MaxUserIdLength, allowAt: true));
        }

        errors.IntInRange("activationMinutes", ActivationMinutes, 0, AppointmentRequest.MaxActivationMinutes, required: false);
        return !errors.Any;
    }

    /// <summary>The first field that disagrees with the record, if any.</summary>
    public (string Field, string Detail)? Disagreement(ChatFacts appointment, Organisations.PracticeSettings practice)
    {
        if (PetOwnerId is not null && PetOwnerId != appointment.PetOwnerId)
        {
            return ("petOwnerId", "petOwnerId does not match the appointment's pet owner.");
        }

        if (VetId is not null && VetId != appointment.VetId)
        {
            return ("vetId", "vetId does not match the appointment's vet.");
        }

        if (AppointmentTime is { } time && AppointmentTimeZones.Disagreement(time, appointment, practice) is { } detail)
        {
            return ("appointmentTime", detail);
        }

        return null;
    }
}

/// <summary>The guide's response (channelId, channelType, members) and the chat window.</summary>
internal sealed record ChannelResponse(
    string ChannelId,
    string ChannelType,
    IReadOnlyList<string> Members,
    ChatStatus Status,
    DateTimeOffset ActivatesAt,
    DateTimeOffset ClosesAt)
{
    public static ChannelResponse From(ChatFacts appointment, ChatOptions options) => new(
        appointment.ChannelId!,
        ChatLimits.ChannelType,
        [appointment.PetOwnerId, appointment.VetId],
        appointment.ChatStatus ?? ChatStatus.Pending,
        ChatWindow.ActivatesAt(appointment),
        ChatWindow.ClosesAt(appointment, options));
}

internal sealed record EndChannelResponse(bool Success);

/// <param name="LastMessageAt">Unix milliseconds, as the guide's type declares.</param>
/// <param name="UnreadCount">How many of the chat's messages the caller has not read.</param>
/// <param name="UnreadSince">When the oldest of them was sent; absent while nothing is unread.</param>
internal sealed record ChannelListItem(
    string Id,
    string Name,
    IReadOnlyList<string> Members,
    string? LastMessage,
    long? LastMessageAt,
    string AppointmentId,
    ChatStatus Status,
    DateTimeOffset ActivatesAt,
    DateTimeOffset ClosesAt,
    int UnreadCount = 0,
    DateTimeOffset? UnreadSince = null);

internal sealed record ChannelListResponse(IReadOnlyList<ChannelListItem> Channels, string? NextCursor);

/// <summary>The examples of the API description.</summary>
internal static class ChannelExamples
{
    private static readonly DateTimeOffset ActivatesAt = new(2030, 1, 15, 12, 55, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset ClosesAt = new(2030, 1, 15, 14, 0, 0, TimeSpan.Zero);

    public static readonly ChannelResponse Channel = new("appointment-apt-1", ChatLimits.ChannelType, ["owner-1", "vet-1"], ChatStatus.Pending, ActivatesAt, ClosesAt);

    /// <summary>A chat with messages and one without (whose lastMessage and lastMessageAt are absent).</summary>
    public static readonly ChannelListResponse List = new(
        [
            new("appointment-apt-1", "Chat with Alex", ["owner-1", "vet-1"], "See you soon", 1736949600000, "apt-1", ChatStatus.Active, ActivatesAt, ClosesAt, 2, new DateTimeOffset(2030, 1, 15, 13, 5, 0, TimeSpan.Zero)),
            new("appointment-apt-2", "Chat with Sam", ["owner-2", "vet-1"], null, null, "apt-2", ChatStatus.Pending, ActivatesAt.AddDays(1), ClosesAt.AddDays(1)),
        ],
        "NjM4NzI2NDU2MDAwMDAwMDAwfGFwdC0y");
}

/// <summary>An opaque position in the chat list: the last item's activity time and id.</summary>
internal readonly record struct ChannelCursor(DateTimeOffset LastActivityAt, string AppointmentId)
{
    public string Encode() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
            $"{LastActivityAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}|{AppointmentId}"));

    public static bool TryDecode(string? value, out ChannelCursor cursor)
    {
        cursor = default;
        if (string.IsNullOrEmpty(value) || value.Length > 200)
        {
            return false;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(value));
            var separator = text.IndexOf('|', StringComparison.Ordinal);
            if (separator <= 0
                || !long.TryParse(text.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                || ticks > DateTimeOffset.MaxValue.UtcTicks
                || !AppointmentsApi.IsValidAppointmentId(text[(separator + 1)..]))
            {
                return false;
            }

            cursor = new ChannelCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(separator + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
