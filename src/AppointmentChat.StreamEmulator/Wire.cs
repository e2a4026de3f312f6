using System.Globalization;
using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>The JSON shapes Stream returns for users, channels, members and messages.</summary>
public static class Wire
{
    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static JsonObject User(EmulatedUser user)
    {
        var json = new JsonObject
        {
            ["id"] = user.Id,
            ["role"] = user.Role,
            ["created_at"] = Time(user.CreatedAt),
            ["updated_at"] = Time(user.UpdatedAt),
            ["banned"] = false,
            ["online"] = false,
        };
        if (user.LastActive is { } lastActive)
        {
            json["last_active"] = Time(lastActive);
        }

        if (user.DeletedAt is { } deletedAt)
        {
            json["deleted_at"] = Time(deletedAt);
        }

        foreach (var (key, value) in user.Custom)
        {
            json[key] = value?.DeepClone();
        }

        return json;
    }

    public static JsonObject Channel(EmulatedChannel channel, Func<string, EmulatedUser?> users)
    {
        var json = new JsonObject
        {
            ["id"] = channel.Id,
            ["type"] = channel.Type,
            ["cid"] = channel.Cid,
            ["created_at"] = Time(channel.CreatedAt),
            ["updated_at"] = Time(channel.UpdatedAt),
            ["created_by"] = users(channel.CreatedById) is { } creator ? User(creator) : new JsonObject { ["id"] = channel.CreatedById },
            ["frozen"] = channel.Frozen,
            ["disabled"] = channel.Disabled,
            ["member_count"] = channel.Members.Count,
            ["config"] = new JsonObject { ["name"] = channel.Type, ["typing_events"] = true, ["read_events"] = true, ["max_message_length"] = ChatStore.MaxMessageLength },
        };
        if (channel.LastMessageAt is { } last)
        {
            json["last_message_at"] = Time(last);
        }

        foreach (var (key, value) in channel.Custom)
        {
            json[key] = value?.DeepClone();
        }

        return json;
    }

    public static JsonObject Member(EmulatedMember member, Func<string, EmulatedUser?> users) => new()
    {
        ["user_id"] = member.UserId,
        ["user"] = users(member.UserId) is { } user ? User(user) : new JsonObject { ["id"] = member.UserId },
        ["created_at"] = Time(member.CreatedAt),
        ["updated_at"] = Time(member.UpdatedAt),
        ["banned"] = false,
        ["shadow_banned"] = false,
        ["role"] = "member",
        ["channel_role"] = member.ChannelRole,
    };

    public static JsonObject Message(EmulatedMessage message, EmulatedChannel channel, Func<string, EmulatedUser?> users)
    {
        var json = new JsonObject
        {
            ["id"] = message.Id,
            ["text"] = message.Text,
            ["html"] = message.Text.Length == 0 ? "" : $"<p>{System.Net.WebUtility.HtmlEncode(message.Text)}</p>\n",
            ["type"] = message.Type,
            ["user"] = users(message.UserId) is { } user ? User(user) : new JsonObject { ["id"] = message.UserId },
            ["attachments"] = message.Attachments.DeepClone(),
            ["latest_reactions"] = new JsonArray(),
            ["own_reactions"] = new JsonArray(),
            ["reaction_counts"] = new JsonObject(),
            ["reaction_scores"] = new JsonObject(),
            ["reply_count"] = 0,
            ["cid"] = channel.Cid,
            ["created_at"] = Time(message.CreatedAt),
            ["updated_at"] = Time(message.UpdatedAt),
            ["mentioned_users"] = new JsonArray(),
            ["silent"] = message.Silent,
            ["pinned"] = false,
            ["shadowed"] = false,
        };
        if (message.DeletedAt is { } deleted)
        {
            json["deleted_at"] = Time(deleted);
        }

        foreach (var (key, value) in message.Custom)
        {
            json[key] = value?.DeepClone();
        }

        return json;
    }
}
