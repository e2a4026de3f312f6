using System.Text;
using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>Stream's rules for request input: addresses, ids, members, custom data and sizes. No state.</summary>
internal static class StreamRules
{
    /// <summary>The events a client may send with <c>POST /channels/{type}/{id}/event</c>.</summary>
    public static readonly HashSet<string> ClientEventTypes = ["typing.start", "typing.stop"];

    private static readonly HashSet<string> ChannelTypes = ["messaging", "team", "livestream", "commerce", "gaming"];

    // Fields of a channel Stream owns; everything else in "data" is custom data.
    public static readonly HashSet<string> ReservedChannelFields =
    [
        "id", "type", "cid", "created_by", "created_by_id", "created_at", "updated_at", "deleted_at", "last_message_at",
        "member_count", "members", "frozen", "disabled", "config", "own_capabilities", "hidden", "truncated_at", "team",
    ];

    public static readonly HashSet<string> ReservedMessageFields = ["id", "text", "type", "user", "user_id", "attachments", "html", "created_at", "updated_at", "silent", "cid"];

    public static readonly HashSet<string> ReservedUserFields = ["id", "role", "created_at", "updated_at", "last_active", "online", "banned", "revoke_tokens_issued_before"];

    public static void RequireServer(string op, StreamCaller caller)
    {
        if (!caller.IsServer)
        {
            throw StreamErrorException.NotAllowed(op, $"user '{caller.UserId}' is not allowed to perform this action");
        }
    }

    public static void RequireChannelAddress(string op, string type, string id)
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

    public static void RequireUserId(string op, string id)
    {
        if (id.Length is 0 or > 255 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '@' or '_' or '-'))
        {
            throw StreamErrorException.Input(op, $"user id '{id}' can only contain letters, numbers and @_-");
        }
    }

    public static string? CreatedById(JsonObject? data) =>
        data?["created_by_id"]?.GetValue<string>() ?? data?["created_by"]?["id"]?.GetValue<string>();

    /// <summary>Members as Stream accepts them: user ids, or objects with <c>user_id</c> or <c>user.id</c>.</summary>
    public static List<string> MemberIds(string op, JsonNode? members)
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

    public static JsonObject CustomFields(JsonObject data, HashSet<string> reserved)
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

    public static JsonObject CheckedCustomData(string op, JsonObject data)
    {
        var custom = CustomFields(data, ReservedChannelFields);
        CheckCustomDataSize(op, custom);
        return custom;
    }

    public static void CheckCustomDataSize(string op, JsonObject custom)
    {
        if (Encoding.UTF8.GetByteCount(custom.ToJsonString()) > ChatStore.MaxCustomDataBytes)
        {
            throw StreamErrorException.Input(op, "channel custom data cannot be bigger than 5KB");
        }
    }

    public static void CheckMessageLength(string op, string text)
    {
        if (text.Length > ChatStore.MaxMessageLength)
        {
            throw new StreamErrorException(400, StreamCodes.MessageTooLong, $"{op} failed with error: \"message text is too long, max is {ChatStore.MaxMessageLength} characters\"");
        }
    }

    public static int? Int(string op, JsonNode? node, string name) => node switch
    {
        null => null,
        JsonValue value when value.TryGetValue<int>(out var number) => number,
        _ => throw StreamErrorException.Input(op, $"{name} must be an integer"),
    };
}
