using System.Text;
using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// The emulator's in-memory Stream app: users, channels, members and messages, with Stream's rules.
/// One lock guards all state; events are published after it is released. Which client connections
/// watch which channel is <see cref="ClientConnections"/>' business; queries register watchers there.
/// </summary>
public sealed class ChatStore(TimeProvider time, IEnumerable<IEventSink> sinks, ClientConnections connections)
{
    public const int MaxMessageLength = 5000;
    public const int MaxCustomDataBytes = 5 * 1024;
    public const int MaxQueryLimit = 30;
    public const int MaxQueryUsersLimit = 100;
    public const int MessagesPerState = 25;
    public const int MaxMessagesPerState = 300;

    /// <summary>The events a client may send with <c>POST /channels/{type}/{id}/event</c>.</summary>
    private static readonly HashSet<string> ClientEventTypes = ["typing.start", "typing.stop"];

    private static readonly HashSet<string> ChannelTypes = ["messaging", "team", "livestream", "commerce", "gaming"];

    // Fields of a channel Stream owns; everything else in "data" is custom data.
    private static readonly HashSet<string> ReservedChannelFields =
    [
        "id", "type", "cid", "created_by", "created_by_id", "created_at", "updated_at", "deleted_at", "last_message_at",
        "member_count", "members", "frozen", "disabled", "config", "own_capabilities", "hidden", "truncated_at", "team",
    ];

    private static readonly HashSet<string> ReservedMessageFields = ["id", "text", "type", "user", "user_id", "attachments", "html", "created_at", "updated_at", "silent", "cid"];

    private static readonly HashSet<string> ReservedUserFields = ["id", "role", "created_at", "updated_at", "last_active", "online", "banned", "revoke_tokens_issued_before"];

    private readonly Lock _gate = new();
    private readonly IEventSink[] _sinks = [.. sinks];
    private readonly Dictionary<string, EmulatedUser> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EmulatedChannel> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (EmulatedChannel Channel, EmulatedMessage Message)> _messages = new(StringComparer.Ordinal);
    private long _version;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Counts the writes to the state, so <see cref="StateFile"/> knows when there is something to keep.</summary>
    public long Version => Interlocked.Read(ref _version);

    public void Reset()
    {
        lock (_gate)
        {
            _users.Clear();
            _channels.Clear();
            _messages.Clear();
        }

        Changed();
    }

    /// <summary>Completes once <see cref="Version"/> is no longer <paramref name="seen"/>.</summary>
    public async Task WaitForChangeAsync(long seen, CancellationToken cancellationToken)
    {
        while (Version == seen)
        {
            var changed = Volatile.Read(ref _changed);
            if (Version != seen)
            {
                return;
            }

            await changed.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A consistent copy of the whole state, with the <see cref="Version"/> it was taken at.</summary>
    public (StoredState State, long Version) Export()
    {
        lock (_gate)
        {
            var users = _users.Values
                .Select(u => new StoredUser(u.Id, u.Role, (JsonObject)u.Custom.DeepClone(), u.CreatedAt, u.UpdatedAt, u.RevokeTokensIssuedBefore, u.LastActive))
                .ToList();
            var channels = _channels.Values.Select(c => new StoredChannel(
                c.Type, c.Id, c.CreatedById, (JsonObject)c.Custom.DeepClone(), c.Frozen, c.Disabled, c.CreatedAt, c.UpdatedAt, c.LastMessageAt,
                [.. c.Members.Select(m => new StoredMember(m.UserId, m.ChannelRole, m.CreatedAt, m.UpdatedAt))],
                [.. c.Messages.Select(m => new StoredMessage(
                    m.Id, m.UserId, m.Text, m.Type, (JsonArray)m.Attachments.DeepClone(), (JsonObject)m.Custom.DeepClone(), m.Silent, m.CreatedAt, m.UpdatedAt, m.DeletedAt))],
                [.. c.Reads.Select(r => new StoredRead(r.Key, r.Value.At, r.Value.MessageId))])).ToList();
            return (new StoredState(StoredState.CurrentFormat, users, channels), Version);
        }
    }

    /// <summary>Replaces the whole state with <paramref name="state"/> (a kept <see cref="Export"/>).</summary>
    public void Import(StoredState state)
    {
        if (state.Format != StoredState.CurrentFormat)
        {
            throw new InvalidDataException($"format {state.Format} is not {StoredState.CurrentFormat}");
        }

        lock (_gate)
        {
            _users.Clear();
            _channels.Clear();
            _messages.Clear();
            foreach (var u in state.Users)
            {
                _users[u.Id] = new EmulatedUser
                {
                    Id = u.Id, Role = u.Role, Custom = u.Custom, CreatedAt = u.CreatedAt, UpdatedAt = u.UpdatedAt,
                    RevokeTokensIssuedBefore = u.RevokeTokensIssuedBefore, LastActive = u.LastActive,
                };
            }

            foreach (var c in state.Channels)
            {
                var channel = new EmulatedChannel
                {
                    Type = c.Type, Id = c.Id, CreatedById = c.CreatedById, Custom = c.Custom, Frozen = c.Frozen, Disabled = c.Disabled,
                    CreatedAt = c.CreatedAt, UpdatedAt = c.UpdatedAt, LastMessageAt = c.LastMessageAt,
                };
                channel.Members.AddRange(c.Members.Select(m => new EmulatedMember { UserId = m.UserId, ChannelRole = m.ChannelRole, CreatedAt = m.CreatedAt, UpdatedAt = m.UpdatedAt }));
                foreach (var m in c.Messages)
                {
                    var message = new EmulatedMessage
                    {
                        Id = m.Id, UserId = m.UserId, Text = m.Text, Type = m.Type, Attachments = m.Attachments, Custom = m.Custom, Silent = m.Silent,
                        CreatedAt = m.CreatedAt, UpdatedAt = m.UpdatedAt, DeletedAt = m.DeletedAt,
                    };
                    channel.Messages.Add(message);
                    _messages[message.Id] = (channel, message);
                }

                foreach (var r in c.Reads)
                {
                    channel.Reads[r.UserId] = (r.At, r.MessageId);
                }

                _channels[channel.Cid] = channel;
            }
        }

        Changed();
    }

    private void Changed()
    {
        Interlocked.Increment(ref _version);
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    // ---- users -------------------------------------------------------------------------------

    /// <summary><c>POST /users</c>: creates or replaces users; an existing user raises <c>user.updated</c>.</summary>
    public JsonObject UpsertUsers(StreamCaller caller, JsonObject? users)
    {
        const string op = "UpdateUsers";
        if (users is null || users.Count == 0)
        {
            throw StreamErrorException.Input(op, "users is a required field");
        }

        var events = new List<EmulatorEvent>();
        var result = new JsonObject();
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var validated = new List<(string Id, JsonObject Data)>();
            foreach (var (key, value) in users)
            {
                if (value is not JsonObject data)
                {
                    throw StreamErrorException.Input(op, $"user {key} must be an object");
                }

                var id = data["id"]?.GetValueKind() == System.Text.Json.JsonValueKind.String ? data["id"]!.GetValue<string>() : key;
                if (id != key)
                {
                    throw StreamErrorException.Input(op, $"user id {id} does not match its key {key}");
                }

                RequireUserId(op, id);
                if (!caller.IsServer && id != caller.UserId)
                {
                    throw StreamErrorException.NotAllowed(op, $"user '{caller.UserId}' is not allowed to update user '{id}'");
                }

                validated.Add((id, data));
            }

            foreach (var (id, data) in validated)
            {
                var existed = _users.TryGetValue(id, out var user);
                user ??= new EmulatedUser { Id = id, CreatedAt = now };
                user.Custom = CustomFields(data, ReservedUserFields);
                if (data["role"]?.GetValue<string>() is { Length: > 0 } role)
                {
                    user.Role = role;
                }

                user.UpdatedAt = now;
                _users[id] = user;
                result[id] = Wire.User(user);
                if (existed)
                {
                    events.Add(UserUpdated(user, now));
                }
            }
        }

        Publish(events);
        return new JsonObject { ["users"] = result };
    }

    /// <summary><c>PATCH /users</c>: <c>set</c>/<c>unset</c> per user, including <c>revoke_tokens_issued_before</c>.</summary>
    public JsonObject PartialUpdateUsers(StreamCaller caller, JsonArray? updates)
    {
        const string op = "UpdateUsersPartial";
        if (updates is null || updates.Count == 0)
        {
            throw StreamErrorException.Input(op, "users is a required field");
        }

        var events = new List<EmulatorEvent>();
        var result = new JsonObject();
        lock (_gate)
        {
            var now = time.GetUtcNow();
            foreach (var node in updates)
            {
                if (node is not JsonObject update || update["id"]?.GetValue<string>() is not { } id)
                {
                    throw StreamErrorException.Input(op, "each update needs an id");
                }

                if (!caller.IsServer && id != caller.UserId)
                {
                    throw StreamErrorException.NotAllowed(op, $"user '{caller.UserId}' is not allowed to update user '{id}'");
                }

                if (!_users.TryGetValue(id, out var user))
                {
                    throw StreamErrorException.Input(op, $"user {id} does not exist");
                }

                if (update["set"] is JsonObject set)
                {
                    foreach (var (key, value) in set)
                    {
                        switch (key)
                        {
                            case "revoke_tokens_issued_before":
                                user.RevokeTokensIssuedBefore = value is null ? null : DateTimeOffset.Parse(value.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
                                break;
                            case "role":
                                user.Role = value?.GetValue<string>() ?? "user";
                                break;
                            case "id" or "created_at" or "updated_at":
                                throw StreamErrorException.Input(op, $"field {key} cannot be updated");
                            default:
                                user.Custom[key] = value?.DeepClone();
                                break;
                        }
                    }
                }

                if (update["unset"] is JsonArray unset)
                {
                    foreach (var key in unset.Select(k => k?.GetValue<string>()))
                    {
                        if (key == "revoke_tokens_issued_before")
                        {
                            user.RevokeTokensIssuedBefore = null;
                        }
                        else if (key is not null)
                        {
                            user.Custom.Remove(key);
                        }
                    }
                }

                user.UpdatedAt = now;
                result[id] = Wire.User(user);
                events.Add(UserUpdated(user, now));
            }
        }

        Publish(events);
        return new JsonObject { ["users"] = result };
    }

    /// <summary>
    /// <c>GET /users?payload={…}</c> (stream-chat-js <c>queryUsers</c> sends its query as the JSON <c>payload</c> query
    /// parameter): filters on <c>id</c> with <c>$eq</c> or <c>$in</c>; <c>limit</c> at most 100. A user may query users too.
    /// </summary>
    public JsonObject QueryUsers(JsonObject payload)
    {
        const string op = "QueryUsers";
        var filter = payload["filter_conditions"] as JsonObject ?? throw StreamErrorException.Input(op, "filter_conditions is a required field");
        var limit = Int(op, payload["limit"], "limit") ?? 30;
        var offset = Int(op, payload["offset"], "offset") ?? 0;
        if (limit is < 0 or > MaxQueryUsersLimit || offset is < 0 or > 1000)
        {
            throw StreamErrorException.Input(op, $"limit must be between 0 and {MaxQueryUsersLimit} and offset between 0 and 1000");
        }

        HashSet<string>? ids = null;
        foreach (var (field, condition) in filter)
        {
            if (field != "id")
            {
                throw StreamErrorException.Input(op, $"the emulator filters users on id only, not {field}");
            }

            ids = condition switch
            {
                JsonValue value => [value.GetValue<string>()],
                JsonObject { Count: 1 } o when o["$eq"] is JsonValue eq => [eq.GetValue<string>()],
                JsonObject { Count: 1 } o when o["$in"] is JsonArray values => [.. values.Select(v => v?.GetValue<string>() ?? "")],
                _ => throw StreamErrorException.Input(op, "id takes $eq or $in"),
            };
        }

        lock (_gate)
        {
            var found = _users.Values.Where(u => ids is null || ids.Contains(u.Id)).OrderBy(u => u.CreatedAt).ThenBy(u => u.Id, StringComparer.Ordinal);
            return new JsonObject { ["users"] = new JsonArray([.. found.Skip(offset).Take(limit).Select(u => (JsonNode)Wire.User(u))]) };
        }
    }

    public EmulatedUser? FindUser(string id)
    {
        lock (_gate)
        {
            return _users.GetValueOrDefault(id);
        }
    }

    public DateTimeOffset? RevokedBefore(string userId)
    {
        lock (_gate)
        {
            return _users.TryGetValue(userId, out var user) ? user.RevokeTokensIssuedBefore : null;
        }
    }

    /// <summary>
    /// What a client connection does on connect: creates or refreshes the user with the data it sent, and
    /// returns <c>me</c>, the user as the <c>health.check</c> event carries it (online, unread counts).
    /// </summary>
    public JsonObject ConnectUser(string userId, JsonObject? data)
    {
        RequireUserId(ClientSocket.Endpoint, userId);
        var events = new List<EmulatorEvent>();
        JsonObject me;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var existed = _users.TryGetValue(userId, out var user);
            user ??= new EmulatedUser { Id = userId, CreatedAt = now, UpdatedAt = now };
            if (data is not null)
            {
                var custom = CustomFields(data, ReservedUserFields);
                if (existed && custom.Count > 0 && !JsonNode.DeepEquals(custom, user.Custom))
                {
                    foreach (var (key, value) in custom)
                    {
                        user.Custom[key] = value?.DeepClone();
                    }

                    user.UpdatedAt = now;
                    events.Add(UserUpdated(user, now));
                }
                else if (!existed)
                {
                    user.Custom = custom;
                }
            }

            user.LastActive = now;
            _users[userId] = user;
            me = OwnUser(user);
        }

        Publish(events);
        return me;
    }

    /// <summary>Stream's own-user shape: the user, online, with its unread counts across its channels.</summary>
    private JsonObject OwnUser(EmulatedUser user)
    {
        var unread = _channels.Values.Where(c => c.IsMember(user.Id)).Select(c => UnreadCount(c, user.Id)).ToList();
        var me = Wire.User(user);
        me["online"] = true;
        me["invisible"] = false;
        me["devices"] = new JsonArray();
        me["mutes"] = new JsonArray();
        me["channel_mutes"] = new JsonArray();
        me["total_unread_count"] = unread.Sum();
        me["unread_count"] = unread.Sum();
        me["unread_channels"] = unread.Count(n => n > 0);
        return me;
    }

    /// <summary>Messages from others since the user last read the channel (or joined it).</summary>
    private static int UnreadCount(EmulatedChannel channel, string userId)
    {
        var since = channel.Reads.TryGetValue(userId, out var read)
            ? read.At
            : channel.Members.Find(m => m.UserId == userId)?.CreatedAt ?? DateTimeOffset.MinValue;
        return channel.Messages.Count(m => m.CreatedAt > since && m.UserId != userId && m.DeletedAt is null);
    }

    // ---- channels ----------------------------------------------------------------------------

    /// <summary>
    /// <c>POST /channels/{type}/{id}/query</c>: returns the channel, creating it from <c>data</c> first if it
    /// does not exist. An existing channel is returned as it is. A user must be a member; with a
    /// <paramref name="watcher"/> (<c>watch: true</c>) that connection receives the channel's events from now on.
    /// </summary>
    /// <param name="messages">How many of the latest messages the state carries (<c>messages.limit</c>).</param>
    public (JsonObject State, bool Created) GetOrCreateChannel(
        StreamCaller caller, string type, string id, JsonObject? data, ClientConnection? watcher = null, int messages = MessagesPerState)
    {
        const string op = "GetOrCreateChannel";
        RequireChannelAddress(op, type, id);
        if (messages is < 0 or > MaxMessagesPerState)
        {
            throw StreamErrorException.Input(op, $"messages.limit must be between 0 and {MaxMessagesPerState}");
        }

        var events = new List<EmulatorEvent>();
        JsonObject state;
        bool created;
        lock (_gate)
        {
            if (_channels.TryGetValue(Cid(type, id), out var existing))
            {
                if (!caller.IsServer && !existing.IsMember(caller.UserId!))
                {
                    throw StreamErrorException.NotAllowed(op, $"user '{caller.UserId}' is not allowed to perform action ReadChannel in scope '{type}'");
                }

                if (watcher is not null)
                {
                    connections.Watch(watcher, existing.Cid);
                }

                return (State(existing, caller.UserId, messages), false);
            }

            var now = time.GetUtcNow();
            var createdBy = caller.IsServer ? CreatedById(data) : caller.UserId;
            if (createdBy is null)
            {
                throw StreamErrorException.Input(op, "either data.created_by or data.created_by_id must be provided when using server side auth.");
            }

            var members = MemberIds(op, data?["members"]);
            if (!caller.IsServer && !members.Contains(caller.UserId!))
            {
                members.Add(caller.UserId!);
            }

            var missing = members.Append(createdBy).Distinct().Where(u => !_users.ContainsKey(u)).ToList();
            if (missing.Count > 0)
            {
                throw StreamErrorException.Input(op, $"The following users are involved in channel update operation, but don't exist: [{string.Join(" ", missing)}]. Please create the user objects before setting up the channel.");
            }

            var channel = new EmulatedChannel
            {
                Type = type,
                Id = id,
                CreatedById = createdBy,
                CreatedAt = now,
                UpdatedAt = now,
                Custom = data is null ? [] : CheckedCustomData(op, data),
                Frozen = data?["frozen"]?.GetValueKind() == System.Text.Json.JsonValueKind.True,
            };
            foreach (var member in members.Distinct())
            {
                channel.Members.Add(new EmulatedMember { UserId = member, CreatedAt = now, UpdatedAt = now });
            }

            _channels[channel.Cid] = channel;
            if (watcher is not null)
            {
                connections.Watch(watcher, channel.Cid);
            }

            state = State(channel, caller.UserId, messages);
            created = true;
            events.Add(ChannelEvent("channel.created", channel, now));
        }

        Publish(events);
        return (state, created);
    }

    /// <summary>
    /// <c>POST /channels/{type}/{id}</c>: a full update (<c>data</c> replaces all custom data), and/or
    /// <c>add_members</c> / <c>remove_members</c>, with an optional <c>message</c>.
    /// </summary>
    public JsonObject UpdateChannel(StreamCaller caller, string type, string id, JsonObject body)
    {
        const string op = "UpdateChannel";
        RequireServer(op, caller);
        RequireChannelAddress(op, type, id);
        var events = new List<EmulatorEvent>();
        JsonObject result;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            var now = time.GetUtcNow();
            var add = MemberIds(op, body["add_members"]);
            var remove = MemberIds(op, body["remove_members"]);
            var missing = add.Where(u => !_users.ContainsKey(u)).ToList();
            if (missing.Count > 0)
            {
                throw StreamErrorException.Input(op, $"The following users are involved in channel update operation, but don't exist: [{string.Join(" ", missing)}]. Please create the user objects before setting up the channel.");
            }

            if (body["data"] is JsonObject data)
            {
                channel.Custom = CheckedCustomData(op, data);
                channel.Frozen = data["frozen"]?.GetValueKind() == System.Text.Json.JsonValueKind.True;
                channel.Disabled = data["disabled"]?.GetValueKind() == System.Text.Json.JsonValueKind.True;
                channel.UpdatedAt = now;
                events.Add(ChannelEvent("channel.updated", channel, now));
            }

            foreach (var userId in add.Where(u => !channel.IsMember(u)))
            {
                var member = new EmulatedMember { UserId = userId, CreatedAt = now, UpdatedAt = now };
                channel.Members.Add(member);
                events.Add(MemberEvent("member.added", channel, member, now));
            }

            foreach (var userId in remove)
            {
                var member = channel.Members.Find(m => m.UserId == userId);
                if (member is not null)
                {
                    channel.Members.Remove(member);
                    events.Add(MemberEvent("member.removed", channel, member, now));
                }
            }

            if (body["message"] is JsonObject message)
            {
                events.Add(AddMessage(op, caller, channel, message, now).Event);
            }

            result = new JsonObject { ["channel"] = Wire.Channel(channel, FindUserLocked), ["members"] = Members(channel) };
        }

        Publish(events);
        return result;
    }

    /// <summary><c>PATCH /channels/{type}/{id}</c>: <c>set</c> and <c>unset</c> keep every other field.</summary>
    public JsonObject PartialUpdateChannel(StreamCaller caller, string type, string id, JsonObject? set, JsonArray? unset)
    {
        const string op = "UpdateChannelPartial";
        RequireServer(op, caller);
        RequireChannelAddress(op, type, id);
        if ((set is null || set.Count == 0) && (unset is null || unset.Count == 0))
        {
            throw StreamErrorException.Input(op, "set or unset should not be empty");
        }

        var events = new List<EmulatorEvent>();
        JsonObject result;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            var now = time.GetUtcNow();
            var custom = (JsonObject)channel.Custom.DeepClone();
            var frozen = channel.Frozen;
            var disabled = channel.Disabled;
            foreach (var (key, value) in set ?? [])
            {
                switch (key)
                {
                    case "frozen": frozen = value?.GetValueKind() == System.Text.Json.JsonValueKind.True; break;
                    case "disabled": disabled = value?.GetValueKind() == System.Text.Json.JsonValueKind.True; break;
                    case var reserved when ReservedChannelFields.Contains(reserved):
                        throw StreamErrorException.Input(op, $"field {key} cannot be set");
                    default: custom[key] = value?.DeepClone(); break;
                }
            }

            foreach (var key in (unset ?? []).Select(k => k?.GetValue<string>()))
            {
                if (key is not null)
                {
                    custom.Remove(key);
                }
            }

            CheckCustomDataSize(op, custom);
            channel.Custom = custom;
            channel.Frozen = frozen;
            channel.Disabled = disabled;
            channel.UpdatedAt = now;
            events.Add(ChannelEvent("channel.updated", channel, now));
            result = new JsonObject { ["channel"] = Wire.Channel(channel, FindUserLocked), ["members"] = Members(channel) };
        }

        Publish(events);
        return result;
    }

    /// <summary><c>DELETE /channels/{type}/{id}</c>: the channel and its messages are gone.</summary>
    public JsonObject DeleteChannel(StreamCaller caller, string type, string id)
    {
        const string op = "DeleteChannel";
        RequireServer(op, caller);
        RequireChannelAddress(op, type, id);
        EmulatorEvent deleted;
        JsonObject result;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            var now = time.GetUtcNow();
            _channels.Remove(channel.Cid);
            foreach (var message in channel.Messages)
            {
                _messages.Remove(message.Id);
            }

            var json = Wire.Channel(channel, FindUserLocked);
            json["deleted_at"] = Wire.Time(now);
            deleted = new EmulatorEvent("channel.deleted", channel.Cid, new JsonObject
            {
                ["type"] = "channel.deleted",
                ["cid"] = channel.Cid,
                ["channel_id"] = channel.Id,
                ["channel_type"] = channel.Type,
                ["channel"] = json.DeepClone(),
                ["created_at"] = Wire.Time(now),
            });
            result = new JsonObject { ["channel"] = json };
        }

        Publish([deleted]);
        return result;
    }

    // ---- messages ----------------------------------------------------------------------------

    /// <summary>
    /// <c>POST /channels/{type}/{id}/message</c>. Users must be members and cannot write to a frozen
    /// channel; server-side calls are exempt, as in Stream. A client-chosen id must be new.
    /// </summary>
    public JsonObject SendMessage(StreamCaller caller, string type, string id, JsonObject? message)
    {
        const string op = "SendMessage";
        RequireChannelAddress(op, type, id);
        if (message is null)
        {
            throw StreamErrorException.Input(op, "message is a required field");
        }

        EmulatorEvent created;
        JsonObject result;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
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
            if (!_messages.TryGetValue(messageId, out var found) || found.Message.DeletedAt is not null)
            {
                throw StreamErrorException.NotFound(op, $"message with id {messageId} not found");
            }

            var (channel, stored) = found;
            if (!caller.IsServer && stored.UserId != caller.UserId)
            {
                throw StreamErrorException.NotAllowed(op, $"user '{caller.UserId}' is not allowed to update message {messageId}");
            }

            var text = message["text"]?.GetValue<string>() ?? "";
            CheckMessageLength(op, text);
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
            if (!_messages.TryGetValue(messageId, out var found) || found.Message.DeletedAt is not null)
            {
                throw StreamErrorException.NotFound(op, $"message with id {messageId} not found");
            }

            var (channel, stored) = found;
            if (!caller.IsServer && stored.UserId != caller.UserId)
            {
                throw StreamErrorException.NotAllowed(op, $"user '{caller.UserId}' is not allowed to delete message {messageId}");
            }

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

    // ---- client events -----------------------------------------------------------------------

    /// <summary>
    /// <c>POST /channels/{type}/{id}/read</c>: marks the channel read for the caller (a server call names
    /// <c>user_id</c>) up to <c>message_id</c> or its latest message, and raises <c>message.read</c>.
    /// </summary>
    public JsonObject MarkRead(StreamCaller caller, string type, string id, JsonObject body)
    {
        const string op = "MarkRead";
        RequireChannelAddress(op, type, id);
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
            read = new EmulatorEvent("message.read", channel.Cid, new JsonObject
            {
                ["type"] = "message.read",
                ["cid"] = channel.Cid,
                ["channel_id"] = channel.Id,
                ["channel_type"] = channel.Type,
                ["user"] = Wire.User(user),
                ["last_read_message_id"] = messageId,
                ["created_at"] = Wire.Time(now),
            });
        }

        Publish([read]);
        return new JsonObject { ["event"] = read.Payload.DeepClone() };
    }

    /// <summary>
    /// <c>POST /channels/{type}/{id}/event</c>: a typing indicator (<c>typing.start</c>, <c>typing.stop</c>) from a
    /// member, sent to the channel's watchers only, as Stream does (typing is not a webhook event).
    /// </summary>
    public JsonObject SendEvent(StreamCaller caller, string type, string id, JsonObject? clientEvent)
    {
        const string op = "SendEvent";
        RequireChannelAddress(op, type, id);
        var eventType = clientEvent?["type"]?.GetValue<string>() ?? throw StreamErrorException.Input(op, "event.type is a required field");
        if (!ClientEventTypes.Contains(eventType))
        {
            throw new StreamErrorException(400, StreamCodes.EventNotSupported, $"{op} failed with error: \"event type {eventType} is not supported (the emulator takes {string.Join(", ", ClientEventTypes)})\"");
        }

        EmulatorEvent sent;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            var user = ActingUser(op, caller, channel, clientEvent["user_id"] ?? clientEvent["user"]?["id"], "SendTypingEvents");
            var payload = new JsonObject
            {
                ["type"] = eventType,
                ["cid"] = channel.Cid,
                ["channel_id"] = channel.Id,
                ["channel_type"] = channel.Type,
                ["user"] = Wire.User(user),
                ["created_at"] = Wire.Time(time.GetUtcNow()),
            };
            if (clientEvent["parent_id"]?.GetValue<string>() is { } parentId)
            {
                payload["parent_id"] = parentId;
            }

            sent = new EmulatorEvent(eventType, channel.Cid, payload, WatchersOnly: true);
        }

        Publish([sent]);
        return new JsonObject { ["event"] = sent.Payload.DeepClone() };
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

    // ---- queries -----------------------------------------------------------------------------

    /// <summary>
    /// <c>POST /channels</c>: filters on <c>type</c>, <c>id</c>, <c>cid</c>, <c>members</c>, <c>frozen</c> and custom
    /// fields (<c>$eq</c>, <c>$in</c>, <c>$ne</c>, <c>$and</c>); sorts; <c>limit</c> at most 30; <c>offset</c>.
    /// A user sees only channels they are a member of; with a <paramref name="watcher"/> (<c>watch: true</c>)
    /// that connection watches every channel returned.
    /// </summary>
    public JsonObject QueryChannels(StreamCaller caller, JsonObject body, ClientConnection? watcher = null)
    {
        const string op = "QueryChannels";
        var filter = body["filter_conditions"] as JsonObject ?? [];
        var limit = Int(op, body["limit"], "limit") ?? 10;
        var offset = Int(op, body["offset"], "offset") ?? 0;
        if (limit is < 0 or > MaxQueryLimit)
        {
            throw StreamErrorException.Input(op, $"limit should be less than or equal to {MaxQueryLimit}");
        }

        if (offset is < 0 or > 1000)
        {
            throw StreamErrorException.Input(op, "offset should be between 0 and 1000");
        }

        var sort = Sorting(op, body["sort"]);
        var stateUser = caller.IsServer ? body["user_id"]?.GetValue<string>() : caller.UserId;
        lock (_gate)
        {
            IEnumerable<EmulatedChannel> matching = _channels.Values.Where(c => Matches(op, c, filter));
            if (!caller.IsServer)
            {
                matching = matching.Where(c => c.IsMember(caller.UserId!));
            }

            var page = sort(matching).Skip(offset).Take(limit).ToList();
            if (watcher is not null)
            {
                page.ForEach(c => connections.Watch(watcher, c.Cid));
            }

            return new JsonObject { ["channels"] = new JsonArray([.. page.Select(c => (JsonNode)State(c, stateUser))]) };
        }
    }

    /// <summary>A channel's full state, for the control API and tests.</summary>
    public JsonObject? ChannelSnapshot(string type, string id)
    {
        lock (_gate)
        {
            if (!_channels.TryGetValue(Cid(type, id), out var channel))
            {
                return null;
            }

            var state = State(channel, null, int.MaxValue);
            state["channel"]!.AsObject()["custom"] = channel.Custom.DeepClone();
            return state;
        }
    }

    public IReadOnlyList<string> ChannelIds()
    {
        lock (_gate)
        {
            return [.. _channels.Keys];
        }
    }

    public (int Users, int Channels, int Messages) Counts()
    {
        lock (_gate)
        {
            return (_users.Count, _channels.Count, _messages.Count);
        }
    }

    // ---- internals ---------------------------------------------------------------------------

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

            if (channel.Frozen)
            {
                throw StreamErrorException.NotAllowed(op, $"channel '{channel.Cid}' is frozen: user '{userId}' is not allowed to perform action CreateMessage");
            }
        }

        var text = message["text"]?.GetValue<string>() ?? "";
        CheckMessageLength(op, text);
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
            Type = message["type"]?.GetValue<string>() == "system" ? "system" : "regular",
            Attachments = attachments is null ? [] : (JsonArray)attachments.DeepClone(),
            Custom = CustomFields(message, ReservedMessageFields),
            Silent = message["silent"]?.GetValueKind() == System.Text.Json.JsonValueKind.True,
            CreatedAt = now,
            UpdatedAt = now,
        };
        channel.Messages.Add(stored);
        channel.LastMessageAt = now;
        _messages[stored.Id] = (channel, stored);
        return (stored, MessageEvent("message.new", channel, stored, now));
    }

    private JsonObject State(EmulatedChannel channel, string? userId, int messages = MessagesPerState)
    {
        var state = new JsonObject
        {
            ["channel"] = Wire.Channel(channel, FindUserLocked),
            ["messages"] = new JsonArray([.. channel.Messages.TakeLast(messages).Select(m => (JsonNode)Wire.Message(m, channel, FindUserLocked))]),
            ["pinned_messages"] = new JsonArray(),
            ["members"] = Members(channel),
            ["read"] = new JsonArray([.. channel.Reads.Select(r => (JsonNode)new JsonObject
            {
                ["user"] = _users.TryGetValue(r.Key, out var reader) ? Wire.User(reader) : new JsonObject { ["id"] = r.Key },
                ["last_read"] = Wire.Time(r.Value.At),
                ["last_read_message_id"] = r.Value.MessageId,
                ["unread_messages"] = UnreadCount(channel, r.Key),
            })]),
            ["watcher_count"] = connections.WatcherCount(channel.Cid),
        };
        if (userId is not null && channel.Members.Find(m => m.UserId == userId) is { } membership)
        {
            state["membership"] = Wire.Member(membership, FindUserLocked);
        }

        return state;
    }

    private JsonArray Members(EmulatedChannel channel) =>
        new([.. channel.Members.Select(m => (JsonNode)Wire.Member(m, FindUserLocked))]);

    private EmulatedUser? FindUserLocked(string id) => _users.GetValueOrDefault(id);

    private EmulatedChannel RequireChannel(string op, string type, string id) =>
        _channels.TryGetValue(Cid(type, id), out var channel)
            ? channel
            : throw StreamErrorException.NotFound(op, $"Channel '{Cid(type, id)}' does not exist");

    private EmulatorEvent ChannelEvent(string type, EmulatedChannel channel, DateTimeOffset now) => new(type, channel.Cid, new JsonObject
    {
        ["type"] = type,
        ["cid"] = channel.Cid,
        ["channel_id"] = channel.Id,
        ["channel_type"] = channel.Type,
        ["channel"] = Wire.Channel(channel, FindUserLocked),
        ["created_at"] = Wire.Time(now),
    });

    private EmulatorEvent MemberEvent(string type, EmulatedChannel channel, EmulatedMember member, DateTimeOffset now) => new(type, channel.Cid, new JsonObject
    {
        ["type"] = type,
        ["cid"] = channel.Cid,
        ["channel_id"] = channel.Id,
        ["channel_type"] = channel.Type,
        ["member"] = Wire.Member(member, FindUserLocked),
        ["user"] = _users.TryGetValue(member.UserId, out var user) ? Wire.User(user) : new JsonObject { ["id"] = member.UserId },
        ["created_at"] = Wire.Time(now),
    });

    private EmulatorEvent MessageEvent(string type, EmulatedChannel channel, EmulatedMessage message, DateTimeOffset now) => new(type, channel.Cid, new JsonObject
    {
        ["type"] = type,
        ["cid"] = channel.Cid,
        ["channel_id"] = channel.Id,
        ["channel_type"] = channel.Type,
        ["message_id"] = message.Id,
        ["message"] = Wire.Message(message, channel, FindUserLocked),
        ["user"] = _users.TryGetValue(message.UserId, out var user) ? Wire.User(user) : new JsonObject { ["id"] = message.UserId },
        ["members"] = Members(channel),
        ["watcher_count"] = connections.WatcherCount(channel.Cid),
        ["created_at"] = Wire.Time(now),
    });

    private static EmulatorEvent UserUpdated(EmulatedUser user, DateTimeOffset now) => new("user.updated", null, new JsonObject
    {
        ["type"] = "user.updated",
        ["user"] = Wire.User(user),
        ["created_at"] = Wire.Time(now),
    });

    /// <summary>Every write ends here, once its lock is released: the change is counted, then its events go out.</summary>
    private void Publish(IReadOnlyList<EmulatorEvent> events)
    {
        Changed();
        foreach (var evt in events)
        {
            foreach (var sink in _sinks)
            {
                sink.Publish(evt);
            }
        }
    }

    private static string Cid(string type, string id) => $"{type}:{id}";

    private static void RequireServer(string op, StreamCaller caller)
    {
        if (!caller.IsServer)
        {
            throw StreamErrorException.NotAllowed(op, $"user '{caller.UserId}' is not allowed to perform this action");
        }
    }

    private static void RequireChannelAddress(string op, string type, string id)
    {
        if (!ChannelTypes.Contains(type))
        {
            throw StreamErrorException.NotFound(op, $"channel type '{type}' does not exist");
        }

        if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '!'))
        {
            throw StreamErrorException.Input(op, "channel id must be at most 64 characters of letters, digits and !-_");
        }
    }

    private static void RequireUserId(string op, string id)
    {
        if (id.Length is 0 or > 255 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '@' or '_' or '-'))
        {
            throw StreamErrorException.Input(op, $"user id '{id}' can only contain letters, numbers and @_-");
        }
    }

    private static string? CreatedById(JsonObject? data) =>
        data?["created_by_id"]?.GetValue<string>() ?? data?["created_by"]?["id"]?.GetValue<string>();

    /// <summary>Members as Stream accepts them: user ids, or objects with <c>user_id</c> or <c>user.id</c>.</summary>
    private static List<string> MemberIds(string op, JsonNode? members)
    {
        if (members is null)
        {
            return [];
        }

        if (members is not JsonArray array)
        {
            throw StreamErrorException.Input(op, "members must be an array");
        }

        var ids = new List<string>();
        foreach (var member in array)
        {
            var id = member switch
            {
                JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String => value.GetValue<string>(),
                JsonObject obj => obj["user_id"]?.GetValue<string>() ?? obj["user"]?["id"]?.GetValue<string>(),
                _ => null,
            };
            if (string.IsNullOrEmpty(id))
            {
                throw StreamErrorException.Input(op, "each member must be a user id or an object with user_id");
            }

            ids.Add(id);
        }

        return ids;
    }

    private static JsonObject CustomFields(JsonObject data, HashSet<string> reserved)
    {
        var custom = new JsonObject();
        foreach (var (key, value) in data)
        {
            if (!reserved.Contains(key))
            {
                custom[key] = value?.DeepClone();
            }
        }

        return custom;
    }

    private static JsonObject CheckedCustomData(string op, JsonObject data)
    {
        var custom = CustomFields(data, ReservedChannelFields);
        CheckCustomDataSize(op, custom);
        return custom;
    }

    private static void CheckCustomDataSize(string op, JsonObject custom)
    {
        if (Encoding.UTF8.GetByteCount(custom.ToJsonString()) > MaxCustomDataBytes)
        {
            throw StreamErrorException.Input(op, "channel custom data cannot be bigger than 5KB");
        }
    }

    private static void CheckMessageLength(string op, string text)
    {
        if (text.Length > MaxMessageLength)
        {
            throw new StreamErrorException(400, StreamCodes.MessageTooLong, $"{op} failed with error: \"message text is too long, max is {MaxMessageLength} characters\"");
        }
    }

    private static int? Int(string op, JsonNode? node, string name) => node switch
    {
        null => null,
        JsonValue value when value.TryGetValue<int>(out var number) => number,
        _ => throw StreamErrorException.Input(op, $"{name} must be an integer"),
    };

    private static Func<IEnumerable<EmulatedChannel>, IOrderedEnumerable<EmulatedChannel>> Sorting(string op, JsonNode? sort)
    {
        var fields = new List<(string Field, int Direction)>();
        switch (sort)
        {
            case null:
                fields.Add(("last_updated", -1));
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    var field = item?["field"]?.GetValue<string>() ?? throw StreamErrorException.Input(op, "sort field is required");
                    var direction = item["direction"] is JsonValue d && d.TryGetValue<int>(out var dir) ? dir : -1;
                    fields.Add((field, direction >= 0 ? 1 : -1));
                }

                break;
            case JsonObject obj:
                foreach (var (field, value) in obj)
                {
                    fields.Add((field, value is JsonValue d && d.TryGetValue<int>(out var dir) && dir >= 0 ? 1 : -1));
                }

                break;
            default:
                throw StreamErrorException.Input(op, "sort must be an array");
        }

        foreach (var (field, _) in fields)
        {
            if (field is not ("last_message_at" or "created_at" or "updated_at" or "last_updated" or "member_count"))
            {
                throw StreamErrorException.Input(op, $"sort field {field} is not supported");
            }
        }

        return channels =>
        {
            IOrderedEnumerable<EmulatedChannel>? ordered = null;
            foreach (var (field, direction) in fields.Append(("cid", 1)))
            {
                Func<EmulatedChannel, IComparable?> key = field switch
                {
                    "last_message_at" => c => c.LastMessageAt,
                    "created_at" => c => c.CreatedAt,
                    "updated_at" => c => c.UpdatedAt,
                    "member_count" => c => c.Members.Count,
                    "cid" => c => c.Cid,
                    _ => c => c.LastMessageAt ?? c.CreatedAt,
                };

                // Channels without the value (no message yet) come last either way, as in Stream.
                var comparer = Comparer<IComparable?>.Create((a, b) => (a, b) switch
                {
                    (null, null) => 0,
                    (null, _) => 1,
                    (_, null) => -1,
                    _ => direction * a.CompareTo(b),
                });
                ordered = ordered is null ? channels.OrderBy(key, comparer) : ordered.ThenBy(key, comparer);
            }

            return ordered!;
        };
    }

    private static bool Matches(string op, EmulatedChannel channel, JsonObject filter)
    {
        foreach (var (field, condition) in filter)
        {
            if (field == "$and")
            {
                if (condition is not JsonArray all || !all.All(f => f is JsonObject sub && Matches(op, channel, sub)))
                {
                    return false;
                }

                continue;
            }

            if (field.StartsWith('$'))
            {
                throw StreamErrorException.Input(op, $"operator {field} is not supported");
            }

            IEnumerable<JsonNode?> values = field switch
            {
                "type" => [channel.Type],
                "id" => [channel.Id],
                "cid" => [channel.Cid],
                "frozen" => [channel.Frozen],
                "disabled" => [channel.Disabled],
                "members" => channel.Members.Select(m => (JsonNode?)m.UserId),
                "created_by_id" => [channel.CreatedById],
                _ => [channel.Custom[field]],
            };
            if (!Satisfies(op, [.. values], condition))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when any of the field's values meets the condition (so <c>members</c> works as containment).</summary>
    private static bool Satisfies(string op, List<JsonNode?> values, JsonNode? condition)
    {
        if (condition is JsonObject operators)
        {
            foreach (var (name, operand) in operators)
            {
                var ok = name switch
                {
                    "$eq" => values.Exists(v => JsonNode.DeepEquals(v, operand)),
                    "$ne" => !values.Exists(v => JsonNode.DeepEquals(v, operand)),
                    "$in" when operand is JsonArray options => values.Exists(v => options.Any(o => JsonNode.DeepEquals(v, o))),
                    "$nin" when operand is JsonArray options => !values.Exists(v => options.Any(o => JsonNode.DeepEquals(v, o))),
                    _ => throw StreamErrorException.Input(op, $"operator {name} is not supported"),
                };
                if (!ok)
                {
                    return false;
                }
            }

            return true;
        }

        return values.Exists(v => JsonNode.DeepEquals(v, condition));
    }
}
