using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

// Reads of channels: POST /channels, a channel's state as Stream returns it, and views for the control API.
public sealed partial class ChatStore
{
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
        var limit = StreamRules.Int(op, body["limit"], "limit") ?? 10;
        var offset = StreamRules.Int(op, body["offset"], "offset") ?? 0;
        if (limit is < 0 or > MaxQueryLimit)
        {
            throw StreamErrorException.Input(op, $"limit should be less than or equal to {MaxQueryLimit}");
        }

        if (offset is < 0 or > 1000)
        {
            throw StreamErrorException.Input(op, "offset should be between 0 and 1000");
        }

        // Each channel's latest messages: 25 unless asked, at most 300 (stream-chat-go docs/channels/query_channels.md).
        var messageLimit = StreamRules.Int(op, body["message_limit"], "message_limit") ?? MessagesPerState;
        if (messageLimit is < 0 or > MaxMessagesPerState)
        {
            throw StreamErrorException.Input(op, $"message_limit should be less than or equal to {MaxMessagesPerState}");
        }

        var sort = ChannelQuery.Sorting(op, body["sort"]);
        var stateUser = caller.IsServer ? body["user_id"]?.GetValue<string>() : caller.UserId;
        lock (_gate)
        {
            IEnumerable<EmulatedChannel> matching = _channels.Values.Where(c => ChannelQuery.Matches(op, c, filter));
            if (!caller.IsServer)
            {
                matching = matching.Where(c => c.IsMember(caller.UserId!));
            }

            var page = sort(matching).Skip(offset).Take(limit).ToList();
            if (watcher is not null)
            {
                page.ForEach(c => connections.Watch(watcher, c.Cid));
            }

            return new JsonObject { ["channels"] = new JsonArray([.. page.Select(c => (JsonNode)State(c, stateUser, messageLimit))]) };
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

    private JsonObject State(EmulatedChannel channel, string? userId, int messages = MessagesPerState) =>
        State(channel, userId, new MessagePage(messages));

    private JsonObject State(EmulatedChannel channel, string? userId, MessagePage messages)
    {
        var state = new JsonObject
        {
            ["channel"] = Wire.Channel(channel, FindUserLocked),
            ["messages"] = new JsonArray([.. messages.Of(channel.Messages).Select(m => (JsonNode)Wire.Message(m, channel, FindUserLocked))]),
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

    /// <summary>
    /// Messages from others since the user last read the channel (or joined it). Silent messages do not count: they "don't
    /// increase the unread messages count" (Stream's docs, Silent &amp; System Messages).
    /// </summary>
    private static int UnreadCount(EmulatedChannel channel, string userId)
    {
        var since = channel.Reads.TryGetValue(userId, out var read)
            ? read.At
            : channel.Members.Find(m => m.UserId == userId)?.CreatedAt ?? DateTimeOffset.MinValue;
        return channel.Messages.Count(m => m.CreatedAt > since && m.UserId != userId && m.DeletedAt is null && !m.Silent);
    }
}
