using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Privacy;

/// <summary>
/// Gathers what the service and Stream hold about a user (GDPR art. 15). An admin's export covers their organisation's
/// appointments, chats, pushes and webhook events, and what belongs to the person alone (their name, devices, Stream
/// user); the service's covers everything.
/// </summary>
internal sealed class PrivacyExports(ChatDbContext db, StreamChatClient stream, Erasures erasures, TimeProvider time)
{
    /// <summary>Stream answers at most 30 channels a page, each with at most 300 messages (its <c>message_limit</c> ceiling).</summary>
    private const int ChannelsPerPage = 30;
    private const int MessagesPerChannel = 300;

    /// <summary>The organisations the user has appointments in (as pet owner or vet).</summary>
    public Task<List<string>> OrganisationsOfAsync(string userId, CancellationToken cancellationToken) =>
        db.Appointments.Where(a => a.PetOwnerId == userId || a.VetId == userId).Select(a => a.OrganisationId).Distinct().ToListAsync(cancellationToken);

    public async Task<PrivacyExport> ExportAsync(string userId, string? organisationId, CancellationToken cancellationToken)
    {
        var appointments = await db.Chats.AsNoTracking().Include(c => c.Appointment)
            .Where(c => (c.Appointment.PetOwnerId == userId || c.Appointment.VetId == userId)
                && (organisationId == null || c.Appointment.OrganisationId == organisationId))
            .OrderBy(c => c.Appointment.StartsAt).ThenBy(c => c.AppointmentId)
            .ToListAsync(cancellationToken);
        var appointmentIds = appointments.Select(c => c.AppointmentId).ToList();
        var channelIds = appointments.Where(c => c.ChannelId is not null).Select(c => c.ChannelId!).ToList();

        var chatUser = await db.ChatUsers.AsNoTracking().Where(u => u.Id == userId)
            .Select(u => new ExportedChatUser(u.Name, u.PushedName, u.NamedAt, u.SyncedAt, u.UpdatedAt)).FirstOrDefaultAsync(cancellationToken);
        var devices = (await db.Devices.AsNoTracking().Where(d => d.UserId == userId).OrderBy(d => d.CreatedAt).ToListAsync(cancellationToken))
            .Select(d => new ExportedDevice(EnumNames<DevicePlatform>.ToName(d.Platform), d.Token.Length > 8 ? d.Token[^8..] : d.Token, d.CreatedAt, d.UpdatedAt))
            .ToList();
        var pushes = (await db.Notifications.AsNoTracking()
                .Where(n => n.RecipientUserId == userId && (organisationId == null || appointmentIds.Contains(n.AppointmentId)))
                .OrderBy(n => n.Id).ToListAsync(cancellationToken))
            .Select(n => new ExportedPush(n.Id, n.AppointmentId, n.Title, n.Body, EnumNames<NotificationStatus>.ToName(n.Status), n.CreatedAt, n.SentAt))
            .ToList();

        var needle = JsonSerializer.Serialize(userId, PrivacyJsonContext.Default.String);
        var events = (await db.InboxEvents.AsNoTracking()
                .Where(e => e.Payload.Contains(needle) && (organisationId == null || (e.ChannelId != null && channelIds.Contains(e.ChannelId))))
                .OrderBy(e => e.Id).ToListAsync(cancellationToken))
            .Select(e => new ExportedWebhookEvent(e.Id, e.EventType, e.ChannelId, e.ReceivedAt, EnumNames<InboxStatus>.ToName(e.Status), Parse(e.Payload)))
            .ToList();

        var erasure = await erasures.FindForUserAsync(userId, cancellationToken);
        return new PrivacyExport(
            userId,
            time.GetUtcNow(),
            organisationId,
            chatUser,
            [.. appointments.Select(c => Exported(c, userId))],
            devices,
            pushes,
            events,
            new ExportedStream(await stream.QueryUserAsync(userId, cancellationToken), await MessagesAsync(userId, channelIds, cancellationToken)),
            erasure is null ? null : ErasureResponse.From(erasure));
    }

    private async Task<List<ExportedMessage>> MessagesAsync(string userId, List<string> channelIds, CancellationToken cancellationToken)
    {
        var messages = new List<ExportedMessage>();
        foreach (var page in channelIds.Chunk(ChannelsPerPage))
        {
            var filter = new JsonObject
            {
                ["type"] = ChatLimits.ChannelType,
                ["id"] = new JsonObject { ["$in"] = new JsonArray([.. page.Select(id => (JsonNode)id)]) },
            };
            var found = await stream.QueryChannelsAsync(new QueryChannelsRequest(filter, Limit: ChannelsPerPage, MessageLimit: MessagesPerChannel), cancellationToken);
            messages.AddRange(found.SelectMany(c => (c.Messages ?? [])
                .Where(m => m.User?.Id == userId)
                .Select(m => new ExportedMessage(m.Id, c.Channel.Id, m.Text, m.Type, m.CreatedAt, m.Attachments is { ValueKind: JsonValueKind.Array } a ? JsonArray.Create(a) : null))));
        }

        return [.. messages.OrderBy(m => m.CreatedAt)];
    }

    private static ExportedAppointment Exported(Chat c, string userId)
    {
        var a = c.Appointment;
        return new ExportedAppointment(
            a.Id, a.OrganisationId, a.PetOwnerId == userId ? Auth.Roles.PetOwner : Auth.Roles.Vet, a.PetOwnerName, a.PetName, a.VetName, a.StartsAt,
            a.DurationMinutes, EnumNames<AppointmentStatus>.ToName(a.Status), c.ChannelId, c.Status is { } s ? EnumNames<ChatStatus>.ToName(s) : null,
            c.LastMessageText, c.LastMessageAt);
    }

    private static JsonElement Parse(string payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(payload, PrivacyJsonContext.Default.String); // stored as received, not JSON
        }
    }
}
