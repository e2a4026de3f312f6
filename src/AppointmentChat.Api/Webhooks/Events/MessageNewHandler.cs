using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Organisations;
using AppointmentChat.Api.Unread;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary>
/// <c>message.new</c>: the chat list's last message, one more unread message and a push for every member but the sender
/// and the system user. The system user's own messages (the ending message) count as unread, as Stream counts them in
/// its read state (which the catch-up pass repairs the counts from); a silent message counts for nobody, as in Stream.
/// </summary>
internal sealed class MessageNewHandler(ChatDbContext db, ChatRecord record, EventBatch batch, UnreadCounts unread, TimeProvider time, IOptions<ChatOptions> chat, IOptions<PushOptions> pushOptions, PracticeSettingsReader practices) : IStreamEventHandler
{
    public const string EventType = "message.new";

    /// <summary>Stream's longest message id; the column holding it is as long.</summary>
    private const int MaxMessageIdLength = 255;

    public IReadOnlyList<string> EventTypes { get; } = [EventType];

    public Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken) =>
        RecordAsync(streamEvent, push: true, cancellationToken);

    /// <summary>
    /// A message as its <c>message.new</c> webhook brings it — or as the catch-up pass finds it in Stream, when the
    /// webhook was lost: the chat list's last message, and, if <paramref name="push"/> (a message found late is pushed
    /// only while recent), a push for each recipient that has none for it yet.
    /// </summary>
    public async Task<EventOutcome> RecordAsync(StreamEvent streamEvent, bool push, CancellationToken cancellationToken)
    {
        if (streamEvent.AppointmentChannel() is not { } channelId)
        {
            return EventOutcome.NotAnAppointmentChannel;
        }

        var message = StreamEvent.RequiredObject(streamEvent.Message, "message");
        var messageId = StreamEvent.RequiredString(message.Id, "id");
        if (messageId.Length > MaxMessageIdLength)
        {
            return EventOutcome.Ignore($"a message id longer than Stream allows ({MaxMessageIdLength})");
        }

        var senderId = message.User?.Id ?? StreamEvent.RequiredString(StreamEvent.RequiredObject(streamEvent.User, "user").Id, "id");
        var createdAt = StreamEvent.Time(message.CreatedAt, "created_at") ?? StreamEvent.Time(streamEvent.CreatedAt, "created_at") ?? time.GetUtcNow();
        var preview = message.Preview(ChatLimits.MaxPreviewLength);

        ChatMembers? appointment;
        string? knownName;
        if (batch.Lookups is { } lookups)
        {
            appointment = lookups.Chats.GetValueOrDefault(channelId);
            knownName = lookups.Names.GetValueOrDefault(senderId);
        }
        else
        {
            var found = await db.Chats.AsNoTracking()
                .Where(c => c.ChannelId == channelId)
                .Select(c => new { Chat = new ChatMembers(channelId, c.AppointmentId, EF.Property<string>(c, nameof(Appointment.PetOwnerId)), EF.Property<string>(c, nameof(Appointment.VetId)), EF.Property<string>(c, nameof(Appointment.OrganisationId))), SenderName = db.Set<ChatUser>().Where(u => u.Id == senderId).Select(u => u.Name).FirstOrDefault() })
                .FirstOrDefaultAsync(cancellationToken);
            (appointment, knownName) = (found?.Chat, found?.SenderName);
        }

        if (appointment is null)
        {
            return EventOutcome.UnknownChannel;
        }

        await SetLastMessageAsync(new LastMessage(channelId, messageId, preview, createdAt), cancellationToken);

        // Stream's member list when the event carries one, else the appointment's two people.
        var members = streamEvent.MemberIds();
        IEnumerable<string> everyone = members.Count > 0 ? members : [appointment.PetOwnerId, appointment.VetId];
        var recipients = everyone.Where(m => m != senderId && !SystemUserIds.IsSystemUser(m, chat.Value.SystemUserId) && Infrastructure.StreamIds.IsValidUserId(m)).Distinct().ToList();
        if (!message.Silent)
        {
            await unread.MessageSentAsync(channelId, messageId, recipients, createdAt, cancellationToken);
        }

        var settings = pushOptions.Value;
        if (!push || !settings.Enabled || message.Silent)
        {
            return new EventOutcome(false, !push ? "found too late to push" : message.Silent ? "silent message: no push" : "push is off");
        }

        // Keyed by the message, not the delivery: a message notifies each recipient once, however often and under
        // whatever X-Webhook-Id its event arrives (a signed body replayed with a fresh id queues nothing).
        // A push already queued for the same message (the same event delivered under another id) is left as it is:
        // the insert skips it on its unique key, with no exception and no error logged.
        var senderName = knownName ?? message.User?.Name;
        var texts = recipients.Count > 0 ? (await practices.ForAsync(appointment.OrganisationId, cancellationToken)).Texts : null;
        var now = time.GetUtcNow();
        var notifications = recipients
            .Select(recipient => new Notification
            {
                DedupKey = NotificationKey(messageId, recipient),
                RecipientUserId = recipient,
                Title = EventMessage.Shorten(senderName ?? texts!.Get("PushTitleUnknownSender"), Appointment.MaxNameLength),
                Body = PushTexts.Body(texts!, settings.IncludePreview && message.Text is { Length: > 0 } text ? EventMessage.Shorten(text, settings.PreviewLength) : null, message.AttachmentTypes),
                AppointmentId = appointment.AppointmentId,
                ChannelId = channelId,
                MessageId = messageId,
                CreatedAt = now,
                NextAttemptAt = now,
            })
            .Where(n => batch.Lookups is not { } open || open.QueuedKeys.Add(n.DedupKey))
            .ToList();
        if (batch.Lookups is { } deferred)
        {
            deferred.Notifications.AddRange(notifications);
        }
        else
        {
            await db.InsertNotificationsAsync(notifications, cancellationToken);
        }

        return new EventOutcome(false, null, notifications.Count);
    }

    /// <summary>The outbox key of a message's push to one recipient (a long message id is hashed to fit the column).</summary>
    internal static string NotificationKey(string messageId, string recipientId)
    {
        var message = messageId.Length <= 150 ? messageId : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(messageId)));
        return $"message:{message}:{recipientId}";
    }

    /// <summary>Out of order deliveries never put an older message over a newer one.</summary>
    private async Task SetLastMessageAsync(LastMessage last, CancellationToken cancellationToken)
    {
        if (batch.Lookups is { } lookups)
        {
            // Written for the whole batch at once: only each chat's newest message matters.
            if (!lookups.LastMessages.TryGetValue(last.ChannelId, out var newest) || newest.At <= last.At)
            {
                lookups.LastMessages[last.ChannelId] = last;
            }

            return;
        }

        await record.RecordLastMessageAsync(last, cancellationToken);
    }
}
