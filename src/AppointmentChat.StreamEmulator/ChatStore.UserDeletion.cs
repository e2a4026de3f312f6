using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// The options of <c>DELETE /users/{id}</c>, as query parameters (stream-chat-go <c>user.go</c> <c>DeleteUser</c> with
/// <c>DeleteUserWithHardDelete</c>, <c>DeleteUserWithMarkMessagesDeleted</c>, <c>DeleteUserWithDeleteConversations</c>;
/// stream-cli <c>chat delete-user</c>): each <c>true</c> or <c>false</c>, anything else refused as Stream refuses it.
/// </summary>
public sealed record UserDeletion(bool HardDelete, bool MarkMessagesDeleted, bool DeleteConversationChannels)
{
    public static UserDeletion From(IQueryCollection query) => new(
        Flag(query, "hard_delete"), Flag(query, "mark_messages_deleted"), Flag(query, "delete_conversation_channels"));

    private static bool Flag(IQueryCollection query, string name) => query[name].ToString() switch
    {
        "" or "false" => false,
        "true" => true,
        var other => throw StreamErrorException.Input("DeleteUser", $"{name} must be true or false, not '{other}'"),
    };
}

// Users: deletion, soft or hard, with the user's messages and conversations.
public sealed partial class ChatStore
{
    /// <summary>
    /// <c>DELETE /users/{id}</c> (server side only). Soft: the user stays, marked <c>deleted_at</c>, with what it holds
    /// (Stream keeps a soft-deleted user's data). <c>mark_messages_deleted</c>: the user's messages are deleted as a message delete does
    /// (type <c>deleted</c>). <c>hard_delete</c>: the user, its memberships and its messages are gone for good.
    /// <c>delete_conversation_channels</c>: the distinct conversations it is in (<c>!members-…</c> channels) are deleted.
    /// Raises <c>user.deleted</c> with the options, as Stream's <c>UserDeletedEvent</c> carries them. An unknown or
    /// hard-deleted user is 404; a soft-deleted one may be deleted again (harder).
    /// </summary>
    public JsonObject DeleteUser(StreamCaller caller, string id, UserDeletion options)
    {
        const string op = "DeleteUser";
        if (!caller.IsServer)
        {
            throw StreamErrorException.NotAllowed(op, "only server-side calls may delete users");
        }

        StreamRules.RequireUserId(op, id);
        var events = new List<EmulatorEvent>();
        JsonObject deleted;
        lock (_gate)
        {
            if (!_users.TryGetValue(id, out var user))
            {
                throw StreamErrorException.NotFound(op, $"user {id} does not exist");
            }

            var now = time.GetUtcNow();
            foreach (var channel in _channels.Values.Where(c => c.IsMember(id) || c.Messages.Exists(m => m.UserId == id)).ToList())
            {
                if (options.DeleteConversationChannels && channel.Id.StartsWith("!members-", StringComparison.Ordinal))
                {
                    _channels.Remove(channel.Cid);
                    channel.Messages.ForEach(m => _messages.Remove(m.Id));
                    continue;
                }

                foreach (var message in channel.Messages.Where(m => m.UserId == id).ToList())
                {
                    if (options.HardDelete)
                    {
                        channel.Messages.Remove(message);
                        _messages.Remove(message.Id);
                    }
                    else if (options.MarkMessagesDeleted && message.DeletedAt is null)
                    {
                        message.DeletedAt = now;
                        message.Type = "deleted";
                        message.UpdatedAt = now;
                    }
                }

                if (options.HardDelete)
                {
                    channel.Members.RemoveAll(m => m.UserId == id);
                    channel.Reads.Remove(id);
                }
            }

            user.DeletedAt ??= now;
            user.UpdatedAt = now;
            deleted = Wire.User(user);
            if (options.HardDelete)
            {
                _users.Remove(id);
            }

            events.Add(new EmulatorEvent("user.deleted", null, new JsonObject
            {
                ["type"] = "user.deleted",
                ["user"] = deleted.DeepClone(),
                ["hard_delete"] = options.HardDelete,
                ["mark_messages_deleted"] = options.MarkMessagesDeleted,
                ["delete_conversation_channels"] = options.DeleteConversationChannels,
                ["created_at"] = Wire.Time(now),
            }));
        }

        Publish(events);
        return new JsonObject { ["user"] = deleted };
    }
}
