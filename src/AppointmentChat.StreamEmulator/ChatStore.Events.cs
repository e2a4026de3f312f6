using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

// The payloads of the events the store raises, built under its lock from the state they describe.
public sealed partial class ChatStore
{
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

    /// <summary><paramref name="deletedChannel"/> is the channel as the delete call returns it, with <c>deleted_at</c>.</summary>
    private static EmulatorEvent ChannelDeleted(EmulatedChannel channel, JsonObject deletedChannel, DateTimeOffset now) => new("channel.deleted", channel.Cid, new JsonObject
    {
        ["type"] = "channel.deleted",
        ["cid"] = channel.Cid,
        ["channel_id"] = channel.Id,
        ["channel_type"] = channel.Type,
        ["channel"] = deletedChannel.DeepClone(),
        ["created_at"] = Wire.Time(now),
    });

    private static EmulatorEvent MessageRead(EmulatedChannel channel, EmulatedUser user, string? messageId, DateTimeOffset now) => new("message.read", channel.Cid, new JsonObject
    {
        ["type"] = "message.read",
        ["cid"] = channel.Cid,
        ["channel_id"] = channel.Id,
        ["channel_type"] = channel.Type,
        ["user"] = Wire.User(user),
        ["last_read_message_id"] = messageId,
        ["created_at"] = Wire.Time(now),
    });

    private EmulatorEvent MarkUnreadEvent(EmulatedChannel channel, EmulatedUser user, string firstUnreadId, DateTimeOffset now)
    {
        var (lastReadAt, lastReadId) = channel.Reads[user.Id];
        var unread = _channels.Values.Where(c => c.IsMember(user.Id)).Select(c => UnreadCount(c, user.Id)).ToList();
        return new("notification.mark_unread", channel.Cid, new JsonObject
        {
            ["type"] = "notification.mark_unread",
            ["cid"] = channel.Cid,
            ["channel_id"] = channel.Id,
            ["channel_type"] = channel.Type,
            ["user"] = Wire.User(user),
            ["first_unread_message_id"] = firstUnreadId,
            ["last_read_at"] = Wire.Time(lastReadAt),
            ["last_read_message_id"] = lastReadId,
            ["unread_messages"] = UnreadCount(channel, user.Id),
            ["unread_count"] = unread.Sum(),
            ["total_unread_count"] = unread.Sum(),
            ["unread_channels"] = unread.Count(n => n > 0),
            ["created_at"] = Wire.Time(now),
        });
    }

    /// <summary>A client event (typing) goes to the channel's watchers only: it is not a webhook event.</summary>
    private static EmulatorEvent ClientEvent(string type, EmulatedChannel channel, EmulatedUser user, string? parentId, DateTimeOffset now)
    {
        var payload = new JsonObject
        {
            ["type"] = type,
            ["cid"] = channel.Cid,
            ["channel_id"] = channel.Id,
            ["channel_type"] = channel.Type,
            ["user"] = Wire.User(user),
            ["created_at"] = Wire.Time(now),
        };
        if (parentId is not null)
        {
            payload["parent_id"] = parentId;
        }

        return new EmulatorEvent(type, channel.Cid, payload, WatchersOnly: true);
    }
}
