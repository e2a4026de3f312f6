using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

// Messages and what members do in a channel: send, edit, delete, mark read, typing events.
public sealed partial class ChatStore
{
    /// <summary>
    /// <c>POST /channels/{type}/{id}/message</c>. Users must be members and cannot write to a frozen
    /// channel; server-side calls are exempt, as in Stream. A client-chosen id must be new.
    /// </summary>
    public JsonObject SendMessage(StreamCaller caller, string type, string id, JsonObject? message)
    {
        const string op = "SendMessage";
        StreamRules.RequireChannelAddress(op, type, id);
        if (message is null)
        {
            throw StreamErrorException.Input(op, "message is a required field");
        }

        EmulatorEvent created;
        JsonObject result;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            if (FrozenRefusal(op, caller, channel, message) is { } refusal)
            {
                return new JsonObject { ["message"] = Wire.Message(refusal, channel, FindUserLocked) };
            }

            var (stored, evt) = AddMessage(op, caller, channel, message, time.GetUtcNow());
            created = evt;
            result = new JsonObject { ["message"] = Wire.Message(stored, channel, FindUserLocked) };
        }

        Publish([created]);
        return result;
    }

    /// <summary><c>POST /messages/{id}</c>: replaces the text (and attachments) of a message.</summary>
    public JsonObject UpdateMessage(StreamCaller caller, string messageId, JsonObject? message)
    {
        const string op = "UpdateMessage";
        if (message is null)
        {
            throw StreamErrorException.Input(op, "message is a required field");
        }

        EmulatorEvent updated;
        JsonObject result;
        lock (_gate)
        {
            var (channel, stored) = OwnMessageLocked(op, caller, messageId, "update");

            var text = message["text"]?.GetValue<string>() ?? "";
            StreamRules.CheckMessageLength(op, text);
            var now = time.GetUtcNow();
            stored.Text = text;
            stored.Attachments = message["attachments"] as JsonArray is { } attachments ? (JsonArray)attachments.DeepClone() : [];
            stored.UpdatedAt = now;
            updated = MessageEvent("message.updated", channel, stored, now);
            result = new JsonObject { ["message"] = Wire.Message(stored, channel, FindUserLocked) };
        }

        Publish([updated]);
        return result;
    }

    /// <summary><c>DELETE /messages/{id}</c>: a soft delete, as Stream does by default.</summary>
    public JsonObject DeleteMessage(StreamCaller caller, string messageId)
    {
        const string op = "DeleteMessage";
        EmulatorEvent deleted;
        JsonObject result;
        lock (_gate)
        {
            var (channel, stored) = OwnMessageLocked(op, caller, messageId, "delete");

            var now = time.GetUtcNow();
            stored.DeletedAt = now;
            stored.Type = "deleted";
            stored.UpdatedAt = now;
            deleted = MessageEvent("message.deleted", channel, stored, now);
            result = new JsonObject { ["message"] = Wire.Message(stored, channel, FindUserLocked) };
        }

        Publish([deleted]);
        return result;
    }

    /// <summary>
    /// <c>POST /channels/{type}/{id}/read</c>: marks the channel read for the caller (a server call names
    /// <c>user_id</c>) up to <c>message_id</c> or its latest message, and raises <c>message.read</c>.
    /// </summary>
    public JsonObject MarkRead(StreamCaller caller, string type, string id, JsonObject body)
    {
        const string op = "MarkRead";
        StreamRules.RequireChannelAddress(op, type, id);
        EmulatorEvent read;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            var user = ActingUser(op, caller, channel, body["user_id"], "ReadChannel");
            var messageId = body["message_id"]?.GetValue<string>();
            if (messageId is not null && !channel.Messages.Exists(m => m.Id == messageId))
            {
                throw StreamErrorException.Input(op, $"message {messageId} is not in channel {channel.Cid}");
            }

            var now = time.GetUtcNow();
            messageId ??= channel.Messages.LastOrDefault(m => m.DeletedAt is null)?.Id;
            channel.Reads[user.Id] = (now, messageId);
            read = MessageRead(channel, user, messageId, now);
        }

        Publish([read]);
        return new JsonObject { ["event"] = read.Payload.DeepClone() };
    }

    /// <summary>
    /// <c>POST /channels/{type}/{id}/unread</c>: marks the channel unread for the caller (a server call names
    /// <c>user_id</c>) from <c>message_id</c> on — that message and every later one from others count unread — and raises
    /// <c>notification.mark_unread</c> (GetStream/protocol openapi: MarkUnreadRequest takes message_id or thread_id, and
    /// NotificationMarkUnreadEvent carries first_unread_message_id, last_read_at, last_read_message_id,
    /// unread_messages, unread_count, total_unread_count, unread_channels). Threads are not emulated: a thread_id is
    /// refused as not supported.
    /// </summary>
    public JsonObject MarkUnread(StreamCaller caller, string type, string id, JsonObject body)
    {
        const string op = "MarkUnread";
        StreamRules.RequireChannelAddress(op, type, id);
        if (body["thread_id"] is not null)
        {
            throw StreamErrorException.Input(op, "thread_id is not supported by the emulator");
        }

        var messageId = body["message_id"] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0
            ? text
            : throw StreamErrorException.Input(op, "either message_id or thread_id is required");
        EmulatorEvent unread;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            var user = ActingUser(op, caller, channel, body["user_id"], "ReadChannel");
            var index = channel.Messages.FindIndex(m => m.Id == messageId);
            if (index < 0)
            {
                throw StreamErrorException.Input(op, $"message {messageId} is not in channel {channel.Cid}");
            }

            // Read up to the message before it: last_read is that message's time (just before this one's, if none).
            var first = channel.Messages[index];
            var before = index > 0 ? channel.Messages[index - 1] : null;
            channel.Reads[user.Id] = (before?.CreatedAt ?? first.CreatedAt.AddTicks(-1), before?.Id);
            unread = MarkUnreadEvent(channel, user, first.Id, time.GetUtcNow());
        }

        Publish([unread]);
        return [];
    }

    /// <summary>
    /// <c>POST /channels/{type}/{id}/event</c>: a typing indicator (<c>typing.start</c>, <c>typing.stop</c>) from a
    /// member, sent to the channel's watchers only, as Stream does (typing is not a webhook event).
    /// </summary>
    public JsonObject SendEvent(StreamCaller caller, string type, string id, JsonObject? clientEvent)
    {
        const string op = "SendEvent";
        StreamRules.RequireChannelAddress(op, type, id);
        var eventType = clientEvent?["type"]?.GetValue<string>() ?? throw StreamErrorException.Input(op, "event.type is a required field");
        if (!StreamRules.ClientEventTypes.Contains(eventType))
        {
            throw new StreamErrorException(400, StreamCodes.EventNotSupported, $"{op} failed with error: \"event type {eventType} is not supported (the emulator takes {string.Join(", ", StreamRules.ClientEventTypes)})\"");
        }

        EmulatorEvent sent;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            var user = ActingUser(op, caller, channel, clientEvent["user_id"] ?? clientEvent["user"]?["id"], "SendTypingEvents");
            var now = time.GetUtcNow();
            sent = ClientEvent(eventType, channel, user, clientEvent["parent_id"]?.GetValue<string>(), now);
        }

        Publish([sent]);
        return new JsonObject { ["event"] = sent.Payload.DeepClone() };
    }

    /// <summary>
    /// Who uploads a file to a channel: the caller, who must be a member (Stream's UploadAttachment permission is the
    /// channel member's), or for a server call the user it names.
    /// </summary>
    public string Uploader(string op, StreamCaller caller, string type, string id, JsonNode? namedUser)
    {
        lock (_gate)
        {
            return ActingUser(op, caller, RequireChannel(op, type, id), namedUser, "UploadAttachment").Id;
        }
    }

    /// <summary>The user an event is from: the caller, or for a server call the one it names. Users must be members.</summary>
    private EmulatedUser ActingUser(string op, StreamCaller caller, EmulatedChannel channel, JsonNode? namedUser, string action)
    {
        var userId = caller.IsServer
            ? namedUser?.GetValue<string>() ?? throw StreamErrorException.Input(op, "user_id is a required field when using server side auth.")
            : caller.UserId!;
        if (!_users.TryGetValue(userId, out var user))
        {
            throw StreamErrorException.Input(op, $"user '{userId}' does not exist");
        }

        if (!caller.IsServer && !channel.IsMember(userId))
        {
            throw StreamErrorException.NotAllowed(op, $"user '{userId}' is not allowed to perform action {action} in scope '{channel.Type}'");
        }

        return user;
    }

    /// <summary>The text of the error message Stream answers a member's message to a frozen channel with.</summary>
    public const string FrozenChannelText = "Sorry, this channel has been frozen by the admin";

    /// <summary>
    /// A member's message to a frozen channel: Stream does not refuse the request, it answers with a message of type
    /// <c>error</c> — stored nowhere, sent to nobody (stream-chat-go docs/channels/channel_management/freezing.md: sending
    /// "returns an error message"; the text is the one stream-chat-js's integration tests expected, and the type is
    /// <c>error</c>, GetStream/stream-chat-flutter#360). Whether it has an id or raises any event no source says: here it
    /// has a fresh id and raises none. Server-side sends are not refused. Null when the message goes ahead.
    /// </summary>
    private EmulatedMessage? FrozenRefusal(string op, StreamCaller caller, EmulatedChannel channel, JsonObject message)
    {
        if (caller.IsServer || !channel.Frozen || caller.UserId is not { } userId || !channel.IsMember(userId))
        {
            return null;
        }

        StreamRules.CheckMessageLength(op, message["text"]?.GetValue<string>() ?? "");
        var now = time.GetUtcNow();
        return new EmulatedMessage
        {
            Id = Guid.NewGuid().ToString(),
            UserId = userId,
            Text = FrozenChannelText,
            Type = "error",
            Attachments = [],
            Custom = [],
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    private (EmulatedMessage Message, EmulatorEvent Event) AddMessage(string op, StreamCaller caller, EmulatedChannel channel, JsonObject message, DateTimeOffset now)
    {
        var userId = caller.IsServer
            ? message["user_id"]?.GetValue<string>() ?? message["user"]?["id"]?.GetValue<string>()
            : caller.UserId;
        if (userId is null)
        {
            throw StreamErrorException.Input(op, "message.user or message.user_id is a required field when using server side auth.");
        }

        if (!_users.ContainsKey(userId))
        {
            throw StreamErrorException.Input(op, $"user '{userId}' does not exist");
        }

        if (!caller.IsServer)
        {
            if (!channel.IsMember(userId))
            {
                throw StreamErrorException.NotAllowed(op, $"user '{userId}' is not allowed to perform action CreateMessage in scope '{channel.Type}'");
            }

        }

        // A new message is "regular" or "system" (the spec's MessageRequest.type); a user needs the Create System Message
        // permission for a system one (stream-chat-go docs/messages/silent_messages.md), which no user here has.
        var type = message["type"]?.GetValue<string>() ?? "regular";
        if (type is not ("regular" or "system"))
        {
            throw StreamErrorException.Input(op, $"message.type must be one of [regular system], not '{type}'");
        }

        if (type == "system" && !caller.IsServer)
        {
            throw StreamErrorException.NotAllowed(op, $"user '{userId}' is not allowed to perform action CreateSystemMessage in scope '{channel.Type}'");
        }

        var text = message["text"]?.GetValue<string>() ?? "";
        StreamRules.CheckMessageLength(op, text);
        var attachments = message["attachments"] as JsonArray;
        if (text.Length == 0 && (attachments is null || attachments.Count == 0))
        {
            throw StreamErrorException.Input(op, "message.text or message.attachments is required");
        }

        var id = message["id"]?.GetValue<string>();
        if (id is not null && _messages.ContainsKey(id))
        {
            throw StreamErrorException.Input(op, $"a message with ID {id} already exists");
        }

        var stored = new EmulatedMessage
        {
            Id = id ?? Guid.NewGuid().ToString(),
            UserId = userId,
            Text = text,
            Type = type,
            Attachments = attachments is null ? [] : (JsonArray)attachments.DeepClone(),
            Custom = StreamRules.CustomFields(message, StreamRules.ReservedMessageFields),
            Silent = message["silent"]?.GetValueKind() == System.Text.Json.JsonValueKind.True,
            CreatedAt = now,
            UpdatedAt = now,
        };
        channel.Messages.Add(stored);
        channel.LastMessageAt = now;
        _messages[stored.Id] = (channel, stored);
        return (stored, MessageEvent("message.new", channel, stored, now));
    }

    /// <summary>A message that is not deleted, which the caller may change: its author, or the server.</summary>
    private (EmulatedChannel Channel, EmulatedMessage Message) OwnMessageLocked(string op, StreamCaller caller, string messageId, string action)
    {
        if (!_messages.TryGetValue(messageId, out var found) || found.Message.DeletedAt is not null)
        {
            throw StreamErrorException.NotFound(op, $"message with id {messageId} not found");
        }

        if (!caller.IsServer && found.Message.UserId != caller.UserId)
        {
            throw StreamErrorException.NotAllowed(op, $"user '{caller.UserId}' is not allowed to {action} message {messageId}");
        }

        return found;
    }
}
