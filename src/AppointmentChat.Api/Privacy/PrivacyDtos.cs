using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Privacy;

/// <summary>
/// <c>POST /api/privacy/users/{userId}/erasure</c>: how Stream deletes the user. <c>user</c>: <c>soft</c> (default; the
/// user is marked deleted, its name unset first) or <c>hard</c> (gone, with its memberships and messages).
/// <c>messages</c>: <c>keep</c> (default; the chats stay the practice's clinical record), <c>soft</c> (marked deleted) or
/// <c>hard</c> (removed: what <c>user: hard</c> implies, and its default; Stream's <c>DELETE /users/{id}</c> removes
/// messages for good only with the user).
/// </summary>
internal sealed record ErasureRequest(string? User = null, string? Messages = null)
{
    public static readonly string[] UserModes = [ErasureModes.Soft, ErasureModes.Hard];
    public static readonly string[] MessageModes = [ErasureModes.Keep, ErasureModes.Soft, ErasureModes.Hard];

    public (string User, string Messages)? Validate(RequestErrors errors)
    {
        var user = User ?? ErasureModes.Soft;
        var messages = Messages ?? (user == ErasureModes.Hard ? ErasureModes.Hard : ErasureModes.Keep);
        if (!UserModes.Contains(user, StringComparer.Ordinal))
        {
            errors.Add("user", "must be soft or hard.");
        }
        else if (!MessageModes.Contains(messages, StringComparer.Ordinal))
        {
            errors.Add("messages", "must be keep, soft or hard.");
        }
        else if (user == ErasureModes.Soft && messages == ErasureModes.Hard)
        {
            errors.Add("messages", "hard needs user: hard (Stream removes a user's messages for good only when it removes the user).");
        }
        else if (user == ErasureModes.Hard && messages != ErasureModes.Hard)
        {
            errors.Add("messages", "must be hard with user: hard (Stream's hard deletion removes the user's messages too).");
        }

        return errors.Any ? null : (user, messages);
    }
}

internal static class ErasureModes
{
    public const string Keep = "keep";
    public const string Soft = "soft";
    public const string Hard = "hard";
}

/// <summary>One step of an erasure: done (with when and how many rows or objects it touched) or still to do.</summary>
internal sealed record ErasureStep(string Name, DateTimeOffset? DoneAt = null, int? Count = null);

/// <summary>
/// Something of the user's appointment the erasure keeps, and why: the appointment itself (the practice's record of
/// the visit; names cleared), and — unless Stream deletes them — the chat's messages (the clinical record).
/// </summary>
internal sealed record KeptRecord(string AppointmentId, string OrganisationId, string? ChannelId, IReadOnlyList<string> Kept, string Reason, string Detail);

/// <summary>An erasure as the API shows it: the audit of who asked, when, with which options, each step and what was kept.</summary>
internal sealed record ErasureResponse(
    long Id,
    string UserId,
    string Status,
    string RequestedBy,
    string RequestedByRoles,
    DateTimeOffset RequestedAt,
    string StreamUser,
    string StreamMessages,
    DateTimeOffset? CompletedAt,
    int Attempts,
    string? LastError,
    IReadOnlyList<ErasureStep> Steps,
    IReadOnlyList<KeptRecord> Kept)
{
    public static ErasureResponse From(Erasure e) => new(
        e.Id, e.UserId, e.Status, e.RequestedBy, e.RequestedByRoles, e.RequestedAt, e.StreamUser, e.StreamMessages, e.CompletedAt, e.Attempts, e.LastError,
        JsonSerializer.Deserialize(e.Steps, PrivacyJsonContext.Default.IReadOnlyListErasureStep) ?? [],
        JsonSerializer.Deserialize(e.Kept, PrivacyJsonContext.Default.IReadOnlyListKeptRecord) ?? []);
}

/// <summary>Everything the service and Stream hold about a user (GDPR art. 15), within what the caller may see.</summary>
internal sealed record PrivacyExport(
    string UserId,
    DateTimeOffset ExportedAt,
    string? OrganisationId,
    ExportedChatUser? ChatUser,
    IReadOnlyList<ExportedAppointment> Appointments,
    IReadOnlyList<ExportedDevice> Devices,
    IReadOnlyList<ExportedPush> Pushes,
    IReadOnlyList<ExportedWebhookEvent> WebhookEvents,
    ExportedStream Stream,
    ErasureResponse? Erasure);

internal sealed record ExportedChatUser(string? Name, string? NameInStream, DateTimeOffset? NamedAt, DateTimeOffset? SyncedAt, DateTimeOffset UpdatedAt);

internal sealed record ExportedAppointment(
    string Id,
    string OrganisationId,
    string Role,
    string? PetOwnerName,
    string? PetName,
    string? VetName,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    string Status,
    string? ChannelId,
    string? ChatStatus,
    string? LastMessageText,
    DateTimeOffset? LastMessageAt);

/// <summary>A device: its platform and times, and the last characters of its push token (the token itself is a credential).</summary>
internal sealed record ExportedDevice(string Platform, string TokenEnding, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

internal sealed record ExportedPush(long Id, string AppointmentId, string Title, string Body, string Status, DateTimeOffset CreatedAt, DateTimeOffset? SentAt);

internal sealed record ExportedWebhookEvent(long Id, string EventType, string? ChannelId, DateTimeOffset ReceivedAt, string Status, JsonElement Payload);

/// <summary>What Stream holds: the user as query users returns it, and their messages in the service's channels.</summary>
internal sealed record ExportedStream(JsonObject? User, IReadOnlyList<ExportedMessage> Messages);

internal sealed record ExportedMessage(string Id, string ChannelId, string? Text, string Type, DateTimeOffset CreatedAt, JsonArray? Attachments);
