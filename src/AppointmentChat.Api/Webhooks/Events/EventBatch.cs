using System.Text.Json;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Notifications;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary>
/// The batch of events the processor handles in one transaction, shared by the handlers of its scope: what its events
/// refer to, read once for all of them, and the writes they defer to its end. Outside a batch <see cref="Lookups"/>
/// is null, and handlers read and write event by event.
/// </summary>
internal sealed class EventBatch(ChatDbContext db, ChatRecord record)
{
    /// <summary>Set while a batch is processed: its lookups, made once for all its events.</summary>
    public BatchLookups? Lookups { get; private set; }

    /// <summary>
    /// Prepares to handle <paramref name="events"/> in one transaction: the chats and the senders' names
    /// they refer to are read in two queries, not two per event.
    /// </summary>
    public async Task BeginAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
    {
        var channels = new HashSet<string>(StringComparer.Ordinal);
        var senders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var inbox in events.Where(e => e.EventType == MessageNewHandler.EventType))
        {
            try
            {
                var streamEvent = StreamEvent.Parse(inbox.Payload);
                if (streamEvent.AppointmentChannel() is { } channelId)
                {
                    channels.Add(channelId);
                }

                if (streamEvent.SenderId() is { } senderId)
                {
                    senders.Add(senderId);
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException)
            {
                // Malformed: it fails when handled, and the batch with it.
            }
        }

        var chats = await db.Chats.AsNoTracking()
            .Where(c => c.ChannelId != null && channels.Contains(c.ChannelId))
            // The people's columns as the chat's own (the same row): no join to the appointment's half.
            .Select(c => new ChatMembers(c.ChannelId!, c.AppointmentId, EF.Property<string>(c, nameof(Appointment.PetOwnerId)), EF.Property<string>(c, nameof(Appointment.VetId)), EF.Property<string>(c, nameof(Appointment.OrganisationId))))
            .ToDictionaryAsync(c => c.ChannelId, StringComparer.Ordinal, cancellationToken);
        var names = await db.ChatUsers.AsNoTracking()
            .Where(u => senders.Contains(u.Id))
            .ToDictionaryAsync(u => u.Id, u => u.Name, StringComparer.Ordinal, cancellationToken);
        Lookups = new BatchLookups(chats, names);
    }

    /// <summary>Writes what the batch has deferred (the chats' last messages); before any other kind of event is handled, and before commit.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (Lookups is { LastMessages.Count: > 0 } batch)
        {
            await record.RecordLastMessagesAsync(batch.LastMessages.Values, cancellationToken);
            batch.LastMessages.Clear();
        }

        if (Lookups is { Notifications.Count: > 0 } queued)
        {
            await db.InsertNotificationsAsync(queued.Notifications, cancellationToken);
            queued.Notifications.Clear();
        }
    }

    /// <summary>Forgets deferred writes of a transaction that was rolled back.</summary>
    public void DiscardDeferred()
    {
        Lookups?.LastMessages.Clear();
        Lookups?.Notifications.Clear();
        Lookups?.QueuedKeys.Clear();
    }
}

/// <summary>An appointment's chat and its two people, by channel id.</summary>
internal sealed record ChatMembers(string ChannelId, string AppointmentId, string PetOwnerId, string VetId, string OrganisationId);

/// <summary>What a batch of events refers to, read once: chats by channel id, display names by user id.</summary>
internal sealed record BatchLookups(Dictionary<string, ChatMembers> Chats, Dictionary<string, string?> Names)
{
    /// <summary>Each chat's newest message in the batch so far, not yet written.</summary>
    public Dictionary<string, LastMessage> LastMessages { get; } = new(StringComparer.Ordinal);

    /// <summary>The pushes this batch has queued, so one message arriving twice in a batch queues each push once.</summary>
    public HashSet<string> QueuedKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>The pushes queued so far, not yet written (all in one statement, before the batch commits).</summary>
    public List<Notification> Notifications { get; } = [];
}
