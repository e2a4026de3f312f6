using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

// Channels: get-or-create, full and partial updates, members, delete.
public sealed partial class ChatStore
{
    /// <summary>
    /// <c>POST /channels/{type}/{id}/query</c>: returns the channel, creating it from <c>data</c> first if it
    /// does not exist. An existing channel is returned as it is. A user must be a member; with a
    /// <paramref name="watcher"/> (<c>watch: true</c>) that connection receives the channel's events from now on.
    /// </summary>
    /// <param name="messages">Which of the channel's messages the state carries (<c>messages</c>: by default the latest 25).</param>
    public (JsonObject State, bool Created) GetOrCreateChannel(
        StreamCaller caller, string type, string id, JsonObject? data, ClientConnection? watcher = null, MessagePage? messages = null)
    {
        const string op = "GetOrCreateChannel";
        StreamRules.RequireChannelAddress(op, type, id);
        messages ??= MessagePage.Latest;

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
            var createdBy = caller.IsServer ? StreamRules.CreatedById(data) : caller.UserId;
            if (createdBy is null)
            {
                throw StreamErrorException.Input(op, "either data.created_by or data.created_by_id must be provided when using server side auth.");
            }

            var members = StreamRules.MemberIds(op, data?["members"]);
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
                Custom = data is null ? [] : StreamRules.CheckedCustomData(op, data),
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
        StreamRules.RequireServer(op, caller);
        StreamRules.RequireChannelAddress(op, type, id);
        var events = new List<EmulatorEvent>();
        JsonObject result;
        lock (_gate)
        {
            var channel = RequireChannel(op, type, id);
            var now = time.GetUtcNow();
            var add = StreamRules.MemberIds(op, body["add_members"]);
            var remove = StreamRules.MemberIds(op, body["remove_members"]);
            if (add.Count > 0 && remove.Count > 0)
            {
                // Stricter than Stream may be: its spec (UpdateChannelRequest) has both fields and says nothing of sending
                // them together, and every official SDK sends them apart (stream-chat-go channel.go AddMembers/RemoveMembers,
                // stream-chat-js channel.ts addMembers/removeMembers), so the emulator refuses the combination.
                throw StreamErrorException.Input(op, "add_members and remove_members must be sent in separate requests.");
            }
            var missing = add.Where(u => !_users.ContainsKey(u)).ToList();
            if (missing.Count > 0)
            {
                throw StreamErrorException.Input(op, $"The following users are involved in channel update operation, but don't exist: [{string.Join(" ", missing)}]. Please create the user objects before setting up the channel.");
            }

            if (body["data"] is JsonObject data)
            {
                channel.Custom = StreamRules.CheckedCustomData(op, data);
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
        StreamRules.RequireServer(op, caller);
        StreamRules.RequireChannelAddress(op, type, id);
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
                    case var reserved when StreamRules.ReservedChannelFields.Contains(reserved):
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

            StreamRules.CheckCustomDataSize(op, custom);
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
        StreamRules.RequireServer(op, caller);
        StreamRules.RequireChannelAddress(op, type, id);
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
            deleted = ChannelDeleted(channel, json, now);
            result = new JsonObject { ["channel"] = json };
        }

        Publish([deleted]);
        return result;
    }
}
