using System.Globalization;
using System.Text.Json;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Stream;
using Microsoft.Extensions.Options;
using NodaTime;

namespace AppointmentChat.Api.Transcripts;

/// <summary>
/// Reads a chat's whole conversation from Stream — every message, a page of 300 at a time, going back with
/// <c>id_lt</c> from the latest — and writes it down as the clinical record keeps it.
/// </summary>
internal sealed class TranscriptReader(StreamChatClient stream, Organisations.PracticeSettingsReader practices, IOptions<ChatOptions> options, TimeProvider time)
{
    public async Task<TranscriptResponse> ReadAsync(Chat chat, CancellationToken cancellationToken)
    {
        var appointment = chat.Appointment;
        var channelId = chat.ChannelId ?? throw new InvalidOperationException("The chat has no channel.");
        var messages = await AllMessagesAsync(channelId, cancellationToken);
        var practice = await practices.ForAsync(appointment.OrganisationId, cancellationToken);
        var (zone, _) = AppointmentTimeZones.For(appointment.TimeZone, practice);
        // The practice's own system user when it names one (Organisations), the service's shared one before that.
        string[] systemUserIds = [practice.SystemUserId, options.Value.SystemUserId];

        string Role(StreamMessage message) =>
            message.User?.Id == appointment.PetOwnerId ? TranscriptRoles.PetOwner
            : message.User?.Id == appointment.VetId ? TranscriptRoles.Vet
            : systemUserIds.Contains(message.User?.Id) || message.Type == "system" ? TranscriptRoles.System
            : TranscriptRoles.Other;

        string? NameOf(StreamMessage message) =>
            message.User?.Name is { Length: > 0 } name ? name
            : message.User?.Id == appointment.PetOwnerId ? appointment.PetOwnerName
            : message.User?.Id == appointment.VetId ? appointment.VetName
            : systemUserIds.Contains(message.User?.Id) ? practice.SystemUserName
            : message.User?.Id ?? "";

        var written = messages.Select(m =>
        {
            var deleted = m.Type == "deleted" || m.DeletedAt is not null;
            return new TranscriptMessage(
                m.Id,
                new TranscriptPerson(m.User?.Id ?? "", NameOf(m)),
                Role(m),
                Local(m.CreatedAt, zone),
                deleted ? null : m.Text ?? "",
                deleted,
                deleted ? [] : Attachments(m.Attachments));
        }).ToList();

        return new TranscriptResponse(
            channelId,
            appointment.Id,
            appointment.OrganisationId,
            appointment.PetName,
            new TranscriptPerson(appointment.PetOwnerId, appointment.PetOwnerName),
            new TranscriptPerson(appointment.VetId, appointment.VetName),
            EnumNames<ChatStatus>.ToName(chat.Status ?? ChatStatus.Pending),
            zone.Id,
            Local(time.GetUtcNow(), zone),
            written);
    }

    /// <summary>Every message of the channel, oldest first: pages of the latest, then of those before the oldest seen.</summary>
    private async Task<List<StreamMessage>> AllMessagesAsync(string channelId, CancellationToken cancellationToken)
    {
        var pages = new List<IReadOnlyList<StreamMessage>>();
        string? before = null;
        while (true)
        {
            var page = (await stream.QueryMessagesAsync(ChatLimits.ChannelType, channelId, before, StreamChatClient.MaxMessagesPerPage, cancellationToken)).Messages ?? [];
            pages.Add(page);

            // A short page is the first; a page that does not move back (Stream ignoring id_lt) would never end.
            if (page.Count < StreamChatClient.MaxMessagesPerPage || page[0].Id == before)
            {
                break;
            }

            before = page[0].Id;
        }

        pages.Reverse();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. pages.SelectMany(p => p).Where(m => seen.Add(m.Id))];
    }

    /// <summary>The instant on the organisation's clock, with the offset it had then.</summary>
    public static string Local(DateTimeOffset at, DateTimeZone zone) =>
        Instant.FromDateTimeOffset(at).InZone(zone).ToDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    /// <summary>Each attachment's type, title and link: the file's (<c>asset_url</c>), else the image's, else the page it shows.</summary>
    private static List<TranscriptAttachment> Attachments(JsonElement? attachments)
    {
        if (attachments is not { ValueKind: JsonValueKind.Array } array)
        {
            return [];
        }

        static string? Text(JsonElement item, string name) =>
            item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

        return [.. array.EnumerateArray()
            .Where(item => item.ValueKind == JsonValueKind.Object)
            .Select(item => new TranscriptAttachment(
                Text(item, "type"),
                Text(item, "title") ?? Text(item, "fallback"),
                Text(item, "asset_url") ?? Text(item, "image_url") ?? Text(item, "thumb_url") ?? Text(item, "title_link") ?? Text(item, "og_scrape_url")))];
    }
}
