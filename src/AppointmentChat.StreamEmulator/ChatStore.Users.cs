using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

// Users: create, update, query, and the user a client connection connects as.
public sealed partial class ChatStore
{
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

                StreamRules.RequireUserId(op, id);
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
                user.Custom = StreamRules.CustomFields(data, StreamRules.ReservedUserFields);
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
        var limit = StreamRules.Int(op, payload["limit"], "limit") ?? 30;
        var offset = StreamRules.Int(op, payload["offset"], "offset") ?? 0;
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
        StreamRules.RequireUserId(ClientSocket.Endpoint, userId);
        var events = new List<EmulatorEvent>();
        JsonObject me;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var existed = _users.TryGetValue(userId, out var user);
            user ??= new EmulatedUser { Id = userId, CreatedAt = now, UpdatedAt = now };
            if (data is not null)
            {
                var custom = StreamRules.CustomFields(data, StreamRules.ReservedUserFields);
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
}
