using System.Globalization;
using System.Text.Json;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks;

/// <summary>What processing an event came to.</summary>
internal sealed record EventOutcome(bool Ignored, string? Note, int Notifications = 0)
{
    public static readonly EventOutcome Done = new(false, null);

    public static EventOutcome Ignore(string why) => new(true, why);
}

/// <summary>
/// What each Stream event means for the service: the channel mirror behind the chat list, the outbox
/// of push notifications, the cache of display names. Runs inside the inbox transaction; a malformed
/// event throws (and is retried, then parked), an event of no interest is ignored.
/// </summary>
internal sealed class StreamEventHandler(ChatDbContext db, TimeProvider time, IOptions<ChatOptions> chat, IOptions<PushOptions> push)
{
    public const string MediaMessage = "[Media message]";

    /// <summary>Stream's longest message id; the column holding it is as long.</summary>
    private const int MaxMessageIdLength = 255;
    public const string DeletedMessage = "This message was deleted.";
    private const string EndedByStream = "stream";

    /// <summary>Set while a batch is processed: its lookups, made once for all its events.</summary>
    private BatchLookups? _batch;

    /// <summary>
    /// Prepares to handle <paramref name="events"/> in one transaction: the chats and the senders' names
    /// they refer to are read in two queries, not two per event.
    /// </summary>
    public async Task BeginBatchAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
    {
        var channels = new HashSet<string>(StringComparer.Ordinal);
        var senders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var inbox in events.Where(e => e.EventType == "message.new"))
        {
            try
            {
                using var document = JsonDocument.Parse(inbox.Payload);
                var root = document.RootElement;
                if (AppointmentChannel(root) is { } channelId)
                {
                    channels.Add(channelId);
                }

                if ((OptionalString(Optional(Optional(root, "message"), "user"), "id") ?? OptionalString(Optional(root, "user"), "id")) is { } senderId)
                {
                    senders.Add(senderId);
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException)
            {
                // Malformed: it fails when handled, and the batch with it.
            }
        }

        var chats = await db.Appointments.AsNoTracking()
            .Where(a => a.ChannelId != null && channels.Contains(a.ChannelId))
            .Select(a => new ChatMembers(a.ChannelId!, a.Id, a.PetOwnerId, a.VetId))
            .ToDictionaryAsync(c => c.ChannelId, StringComparer.Ordinal, cancellationToken);
        var names = await db.ChatUsers.AsNoTracking()
            .Where(u => senders.Contains(u.Id))
            .ToDictionaryAsync(u => u.Id, u => u.Name, StringComparer.Ordinal, cancellationToken);
        _batch = new BatchLookups(chats, names);
    }

    /// <summary>Writes what the batch has deferred (the chats' last messages); before any other kind of event is handled, and before commit.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_batch is { LastMessages.Count: > 0 } batch)
        {
            await db.SetLastMessagesAsync(batch.LastMessages.Values, cancellationToken);
            batch.LastMessages.Clear();
        }

        if (_batch is { Notifications.Count: > 0 } queued)
        {
            await db.InsertNotificationsAsync(queued.Notifications, cancellationToken);
            queued.Notifications.Clear();
        }
    }

    /// <summary>Forgets deferred writes of a transaction that was rolled back.</summary>
    public void DiscardDeferred()
    {
        _batch?.LastMessages.Clear();
        _batch?.Notifications.Clear();
        _batch?.QueuedKeys.Clear();
    }

    public async Task<EventOutcome> HandleAsync(InboxEvent inbox, CancellationToken cancellationToken)
    {
        if (inbox.EventType != "message.new")
        {
            await FlushAsync(cancellationToken);
        }

        using var document = JsonDocument.Parse(inbox.Payload);
        var root = document.RootElement;
        return inbox.EventType switch
        {
            "message.new" => await MessageNewAsync(inbox, root, cancellationToken),
            "message.updated" => await MessageChangedAsync(root, deleted: false, cancellationToken),
            "message.deleted" => await MessageChangedAsync(root, deleted: true, cancellationToken),
            "channel.updated" => await ChannelUpdatedAsync(root, cancellationToken),
            "channel.deleted" => await ChannelDeletedAsync(root, cancellationToken),
            "user.updated" => await UserUpdatedAsync(root, cancellationToken),
            _ => EventOutcome.Ignore($"'{inbox.EventType}' events are not used"),
        };
    }

    /// <summary>The chat list's last message, and a push for every member but the sender and the system user.</summary>
    private async Task<EventOutcome> MessageNewAsync(InboxEvent inbox, JsonElement root, CancellationToken cancellationToken)
    {
        if (AppointmentChannel(root) is not { } channelId)
        {
            return EventOutcome.Ignore("not an appointment channel");
        }

        var message = Required(root, "message", JsonValueKind.Object);
        var messageId = RequiredString(message, "id");
        if (messageId.Length > MaxMessageIdLength)
        {
            return EventOutcome.Ignore($"a message id longer than Stream allows ({MaxMessageIdLength})");
        }

        var senderId = OptionalString(Optional(message, "user"), "id") ?? RequiredString(Required(root, "user", JsonValueKind.Object), "id");
        var createdAt = Time(message, "created_at") ?? Time(root, "created_at") ?? time.GetUtcNow();
        var text = OptionalString(message, "text") ?? "";
        var hasAttachments = Optional(message, "attachments") is { ValueKind: JsonValueKind.Array } attachments && attachments.GetArrayLength() > 0;
        var preview = Preview(text, hasAttachments, ChatLimits.MaxPreviewLength);

        ChatMembers? appointment;
        string? knownName;
        if (_batch is { } batch)
        {
            appointment = batch.Chats.GetValueOrDefault(channelId);
            knownName = batch.Names.GetValueOrDefault(senderId);
        }
        else
        {
            var found = await db.Appointments.AsNoTracking()
                .Where(a => a.ChannelId == channelId)
                .Select(a => new { Chat = new ChatMembers(channelId, a.Id, a.PetOwnerId, a.VetId), SenderName = db.Set<ChatUser>().Where(u => u.Id == senderId).Select(u => u.Name).FirstOrDefault() })
                .FirstOrDefaultAsync(cancellationToken);
            (appointment, knownName) = (found?.Chat, found?.SenderName);
        }

        if (appointment is null)
        {
            return EventOutcome.Ignore("a channel the service does not know");
        }

        // Out of order deliveries never put an older message over a newer one.
        if (_batch is { } lookups)
        {
            // Written for the whole batch at once: only each chat's newest message matters.
            if (!lookups.LastMessages.TryGetValue(channelId, out var newest) || newest.At <= createdAt)
            {
                lookups.LastMessages[channelId] = new LastMessage(channelId, messageId, preview, createdAt);
            }
        }
        else
        {
            await db.Appointments
                .Where(a => a.ChannelId == channelId && (a.LastMessageAt == null || a.LastMessageAt <= createdAt))
                .ExecuteUpdateAsync(set => set
                    .SetProperty(a => a.LastMessageId, messageId)
                    .SetProperty(a => a.LastMessageText, preview)
                    .SetProperty(a => a.LastMessageAt, createdAt)
                    .SetProperty(a => a.LastActivityAt, a => a.LastActivityAt > createdAt ? a.LastActivityAt : createdAt), cancellationToken);
        }

        var settings = push.Value;
        var silent = Optional(message, "silent") is { ValueKind: JsonValueKind.True };
        if (!settings.Enabled || silent)
        {
            return new EventOutcome(false, silent ? "silent message: no push" : "push is off");
        }

        // Stream's member list when the event carries one, else the appointment's two people.
        var members = Members(root);
        IEnumerable<string> everyone = members.Count > 0 ? members : [appointment.PetOwnerId, appointment.VetId];
        var recipients = everyone.Where(m => m != senderId && m != chat.Value.SystemUserId && Infrastructure.StreamIds.IsValidUserId(m)).Distinct().ToList();

        // Keyed by the message, not the delivery: a message notifies each recipient once, however often and under
        // whatever X-Webhook-Id its event arrives (a signed body replayed with a fresh id queues nothing).
        // A push already queued for the same message (the same event delivered under another id) is left as it is:
        // the insert skips it on its unique key, with no exception and no error logged.
        var senderName = knownName ?? OptionalString(Optional(message, "user"), "name");
        var now = time.GetUtcNow();
        var notifications = recipients
            .Select(recipient => new Notification
            {
                DedupKey = NotificationKey(messageId, recipient),
                RecipientUserId = recipient,
                Title = Shorten(senderName ?? "New message", Appointment.MaxNameLength),
                Body = settings.IncludePreview ? Preview(text, hasAttachments, settings.PreviewLength) : "New message",
                AppointmentId = appointment.AppointmentId,
                ChannelId = channelId,
                MessageId = messageId,
                CreatedAt = now,
                NextAttemptAt = now,
            })
            .Where(n => _batch is not { } open || open.QueuedKeys.Add(n.DedupKey))
            .ToList();
        if (_batch is { } deferred)
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

    /// <summary>An edited or deleted message changes the chat list only if it is the last one.</summary>
    private async Task<EventOutcome> MessageChangedAsync(JsonElement root, bool deleted, CancellationToken cancellationToken)
    {
        if (AppointmentChannel(root) is not { } channelId)
        {
            return EventOutcome.Ignore("not an appointment channel");
        }

        var message = Required(root, "message", JsonValueKind.Object);
        var messageId = RequiredString(message, "id");
        var hasAttachments = Optional(message, "attachments") is { ValueKind: JsonValueKind.Array } attachments && attachments.GetArrayLength() > 0;
        var preview = deleted ? DeletedMessage : Preview(OptionalString(message, "text") ?? "", hasAttachments, ChatLimits.MaxPreviewLength);
        var rows = await db.Appointments
            .Where(a => a.ChannelId == channelId && a.LastMessageId == messageId)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.LastMessageText, preview), cancellationToken);
        return rows == 0 ? EventOutcome.Ignore("not the chat's last message") : EventOutcome.Done;
    }

    /// <summary>The mirror follows Stream's frozen flag and status; an ended chat stays ended.</summary>
    private async Task<EventOutcome> ChannelUpdatedAsync(JsonElement root, CancellationToken cancellationToken)
    {
        if (AppointmentChannel(root) is not { } channelId)
        {
            return EventOutcome.Ignore("not an appointment channel");
        }

        var channel = Required(root, "channel", JsonValueKind.Object);
        var frozen = Optional(channel, "frozen") is { ValueKind: JsonValueKind.True };
        var updatedAt = Time(channel, "updated_at") ?? Time(root, "created_at") ?? time.GetUtcNow();
        var status = OptionalString(channel, "status");

        if (!await db.Appointments.AnyAsync(a => a.ChannelId == channelId, cancellationToken))
        {
            return EventOutcome.Ignore("a channel the service does not know");
        }

        var newer = db.Appointments.Where(a => a.ChannelId == channelId && (a.ChannelUpdatedAt == null || a.ChannelUpdatedAt <= updatedAt));
        if (status == "ended")
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatFrozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt)
                .SetProperty(a => a.ChatStatus, ChatStatus.Ended)
                .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? updatedAt)
                .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? EndedByStream), cancellationToken);
            // Work the scheduler has due is left due: it may be re-applying the end after a write that undid it.
        }
        else if (Infrastructure.EnumNames<ChatStatus>.TryParse(status, out var parsed))
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatFrozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt)
                .SetProperty(a => a.ChatStatus, a => a.ChatStatus == ChatStatus.Ended ? ChatStatus.Ended : parsed), cancellationToken);
        }
        else
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatFrozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt), cancellationToken);
        }

        return EventOutcome.Done;
    }

    /// <summary>A channel deleted in Stream shows as ended — never as active.</summary>
    private async Task<EventOutcome> ChannelDeletedAsync(JsonElement root, CancellationToken cancellationToken)
    {
        if (AppointmentChannel(root) is not { } channelId)
        {
            return EventOutcome.Ignore("not an appointment channel");
        }

        var at = Time(root, "created_at") ?? time.GetUtcNow();
        var rows = await db.Appointments.Where(a => a.ChannelId == channelId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.ChatStatus, ChatStatus.Ended)
            .SetProperty(a => a.ChatFrozen, true)
            .SetProperty(a => a.ChannelDeletedAt, at)
            .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? at)
            .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? EndedByStream)
            .SetProperty(a => a.ChatSyncDue, (DateTimeOffset?)null), cancellationToken);
        return rows == 0 ? EventOutcome.Ignore("a channel the service does not know") : EventOutcome.Done;
    }

    /// <summary>Refreshes the display name used in chat lists and push titles.</summary>
    private async Task<EventOutcome> UserUpdatedAsync(JsonElement root, CancellationToken cancellationToken)
    {
        var user = Required(root, "user", JsonValueKind.Object);
        var id = RequiredString(user, "id");
        var name = OptionalString(user, "name");
        if (name is not null && name.Length > Appointment.MaxNameLength)
        {
            name = name[..Appointment.MaxNameLength];
        }

        await db.RecordReportedNameAsync(id, name, time.GetUtcNow(), cancellationToken);

        if (_batch is not null)
        {
            _batch.Names[id] = name;
        }

        return EventOutcome.Done;
    }

    /// <summary>The channel id of an event about a <c>messaging:appointment-…</c> channel, or null.</summary>
    private static string? AppointmentChannel(JsonElement root)
    {
        var channelId = OptionalString(root, "channel_id");
        var channelType = OptionalString(root, "channel_type");
        if (channelId is null && OptionalString(root, "cid") is { } cid && cid.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon)
        {
            (channelType, channelId) = (cid[..colon], cid[(colon + 1)..]);
        }

        if (channelId is null)
        {
            throw new InvalidDataException("the event names no channel (channel_id or cid)");
        }

        return (channelType ?? ChatLimits.ChannelType) == ChatLimits.ChannelType && channelId.StartsWith(ChatLimits.ChannelPrefix, StringComparison.Ordinal)
            ? channelId
            : null;
    }

    private static List<string> Members(JsonElement root)
    {
        var members = new List<string>();
        if (Optional(root, "members") is { ValueKind: JsonValueKind.Array } array)
        {
            foreach (var member in array.EnumerateArray())
            {
                if ((OptionalString(member, "user_id") ?? OptionalString(Optional(member, "user"), "id")) is { } id)
                {
                    members.Add(id);
                }
            }
        }

        return members;
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    private static string Preview(string text, bool hasAttachments, int length)
    {
        if (text.Length == 0)
        {
            return hasAttachments ? MediaMessage : "";
        }

        return text.Length <= length ? text : text[..(length - 1)] + "…";
    }

    private static JsonElement? Optional(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } obj && obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static JsonElement Required(JsonElement element, string name, JsonValueKind kind) =>
        Optional(element, name) is { } value && value.ValueKind == kind
            ? value
            : throw new InvalidDataException($"the event has no '{name}' {kind.ToString().ToLowerInvariant()}");

    /// <summary>
    /// A string field, made storable: a NUL (which PostgreSQL cannot keep in text) is dropped, and an escape that is
    /// not valid UTF-16 (a lone surrogate) is kept as written, so that neither makes an event fail for good.
    /// </summary>
    private static string? OptionalString(JsonElement? element, string name)
    {
        if (Optional(element, name) is not { ValueKind: JsonValueKind.String } value)
        {
            return null;
        }

        string text;
        try
        {
            text = value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            text = value.GetRawText()[1..^1];
        }

        return text.Contains('\0', StringComparison.Ordinal) ? text.Replace("\0", "", StringComparison.Ordinal) : text;
    }

    private static string RequiredString(JsonElement element, string name) =>
        OptionalString(element, name) ?? throw new InvalidDataException($"the event has no '{name}' string");

    private static DateTimeOffset? Time(JsonElement element, string name)
    {
        if (OptionalString(element, name) is not { } text)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value.ToUniversalTime()
            : throw new InvalidDataException($"'{name}' is not a time: {text}");
    }
}

/// <summary>An appointment's chat and its two people, by channel id.</summary>
internal sealed record ChatMembers(string ChannelId, string AppointmentId, string PetOwnerId, string VetId);

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
