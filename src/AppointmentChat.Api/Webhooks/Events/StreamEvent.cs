using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AppointmentChat.Api.Channels;

namespace AppointmentChat.Api.Webhooks.Events;

// The parts of Stream's webhook events the service reads, snake_case on the wire, as the official SDKs type them:
// the event (stream-chat-js src/types.ts `Event`: type, cid, channel_id, channel_type, created_at, message, channel,
// user, members), its message (stream-chat-go message.go: id, text, silent, user, attachments, created_at), channel
// (channel.go; custom data flattened into it), member (channel_member.go: user_id, user) and user (user.go: id, name);
// and of notification.mark_unread (GetStream/protocol openapi NotificationMarkUnreadEvent, stream-chat-go
// events.go): unread_messages (the member's unread messages in the channel) and last_read_at (when the last message
// the member has read was sent).
// Read tolerantly (TolerantJson): unknown fields are ignored, a missing or null field is null, and a field of another
// JSON kind reads as missing; what a handler requires, it checks itself, so an event fails only for what it needs.

/// <summary>A Stream webhook event.</summary>
internal sealed record StreamEvent(
    string? Cid,
    string? ChannelId,
    string? ChannelType,
    [property: JsonConverter(typeof(TolerantObjectConverter<EventMessage>))] EventMessage? Message,
    [property: JsonConverter(typeof(TolerantObjectConverter<EventChannel>))] EventChannel? Channel,
    [property: JsonConverter(typeof(TolerantObjectConverter<EventUser>))] EventUser? User,
    [property: JsonConverter(typeof(TolerantListConverter<EventMember>))] IReadOnlyList<EventMember>? Members,
    string? CreatedAt,
    [property: JsonConverter(typeof(TolerantCountConverter))] int? UnreadMessages = null,
    string? LastReadAt = null)
{
    /// <summary>The whole body read tolerantly too: a body that is JSON but not an object reads as an event with no fields.</summary>
    private static readonly JsonTypeInfo<StreamEvent?> Body =
        JsonMetadataServices.CreateValueInfo<StreamEvent?>(StreamEventJsonContext.Default.Options, new TolerantObjectConverter<StreamEvent>());

    private static readonly StreamEvent Empty = new(null, null, null, null, null, null, null, null);

    /// <summary>Reads a stored webhook body; a body that is not JSON throws <see cref="JsonException"/>.</summary>
    public static StreamEvent Parse(string payload) => JsonSerializer.Deserialize(payload, Body) ?? Empty;

    /// <summary>The channel id of an event about a <c>messaging:appointment-…</c> channel, or null.</summary>
    public string? AppointmentChannel()
    {
        var (channelType, channelId) = (ChannelType, ChannelId);
        if (channelId is null && Cid is { } cid && cid.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon)
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

    /// <summary>Who sent the event's message: the message's user, else the event's.</summary>
    public string? SenderId() => Message?.User?.Id ?? User?.Id;

    /// <summary>The ids of Stream's member list, when the event carries one (a member by <c>user_id</c> or <c>user.id</c>).</summary>
    public List<string> MemberIds() => Members?.Select(m => m.UserId ?? m.User?.Id).OfType<string>().ToList() ?? [];

    public static T RequiredObject<T>(T? value, string name) where T : class =>
        value ?? throw new InvalidDataException($"the event has no '{name}' object");

    public static string RequiredString(string? value, string name) =>
        value ?? throw new InvalidDataException($"the event has no '{name}' string");

    /// <summary>A time field, read only when a handler uses it: a malformed one fails the event then, and only then.</summary>
    public static DateTimeOffset? Time(string? text, string name)
    {
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value.ToUniversalTime()
            : throw new InvalidDataException($"'{name}' is not a time: {text}");
    }
}

internal sealed record EventMessage(
    string? Id,
    string? Text,
    [property: JsonConverter(typeof(TolerantObjectConverter<EventUser>))] EventUser? User,
    [property: JsonPropertyName("attachments"), JsonConverter(typeof(AttachmentTypesConverter))] IReadOnlyList<string> AttachmentTypes,
    bool Silent,
    string? CreatedAt)
{
    public const string MediaMessage = "[Media message]";

    /// <summary>The message as the chat list and a push show it: its text, shortened to <paramref name="length"/>, or a media placeholder.</summary>
    public string Preview(int length) => Text is null or "" ? (AttachmentTypes.Count > 0 ? MediaMessage : "") : Shorten(Text, length);

    public static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}

/// <summary>A channel; its custom data (the service's <c>status</c>) comes flattened into the object.</summary>
internal sealed record EventChannel(bool Frozen, string? UpdatedAt, string? Status);

internal sealed record EventUser(string? Id, string? Name);

internal sealed record EventMember(string? UserId, [property: JsonConverter(typeof(TolerantObjectConverter<EventUser>))] EventUser? User);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(TolerantStringConverter), typeof(TolerantBooleanConverter)])]
[JsonSerializable(typeof(StreamEvent))]
[JsonSerializable(typeof(EventMessage))]
[JsonSerializable(typeof(EventChannel))]
[JsonSerializable(typeof(EventUser))]
[JsonSerializable(typeof(EventMember))]
internal sealed partial class StreamEventJsonContext : JsonSerializerContext;
