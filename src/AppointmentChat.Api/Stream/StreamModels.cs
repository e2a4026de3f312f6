using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AppointmentChat.Api.Stream;

// Wire models for the parts of Stream's server-side REST API the service uses (snake_case on the wire).

internal sealed record StreamUser(string Id, string? Name = null, string? Role = null);

internal sealed record UpsertUsersRequest(Dictionary<string, StreamUser> Users);

internal sealed record UserPartialUpdate(string Id, Dictionary<string, JsonNode?>? Set = null, IReadOnlyList<string>? Unset = null);

internal sealed record PartialUpdateUsersRequest(IReadOnlyList<UserPartialUpdate> Users);

internal sealed record StreamUserInfo(string Id, string? Name = null, string? Role = null);

internal sealed record UsersResponse(Dictionary<string, StreamUserInfo> Users);

/// <summary>A Stream channel. Custom data comes flattened into the channel object, so it is kept as extension data.</summary>
internal sealed class StreamChannel
{
    public string Id { get; init; } = "";

    public string Type { get; init; } = "";

    public string Cid { get; init; } = "";

    public bool Frozen { get; init; }

    public bool Disabled { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public DateTimeOffset? LastMessageAt { get; init; }

    public int MemberCount { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Custom { get; set; } // settable: extension data cannot be init-only

    public string? CustomString(string key) =>
        Custom is not null && Custom.TryGetValue(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

internal sealed record StreamMember(string UserId, StreamUserInfo? User, string? ChannelRole);

internal sealed record StreamMessage(string Id, string? Text, string Type, StreamUserInfo? User, DateTimeOffset CreatedAt, JsonElement? Attachments, bool Silent = false, DateTimeOffset? DeletedAt = null);

/// <param name="Read">Each member's read state (stream-chat-go channel.go ChannelRead: user, last_read, unread_messages).</param>
internal sealed record ChannelStateResponse(StreamChannel Channel, IReadOnlyList<StreamMember>? Members, IReadOnlyList<StreamMessage>? Messages, IReadOnlyList<StreamRead>? Read = null);

/// <summary>A member's read state in a channel: when they last read it, and how many messages they have not read since.</summary>
internal sealed record StreamRead(StreamUserInfo? User, DateTimeOffset? LastRead, int UnreadMessages, string? LastReadMessageId = null);

internal sealed record QueryChannelsResponse(IReadOnlyList<ChannelStateResponse> Channels);

internal sealed record StreamChannelResponse(StreamChannel Channel, IReadOnlyList<StreamMember>? Members);

internal sealed record SendMessageResponse(StreamMessage Message);

/// <summary>A message to send; <see cref="Id"/> set by us makes the send safe to retry.</summary>
internal sealed record NewMessage(string Text, string UserId, string? Id = null, string? Type = null);

/// <summary>Stream's <c>sort</c>: a field and a direction (1 ascending, -1 descending).</summary>
internal sealed record ChannelSort(string Field, int Direction);

internal sealed record QueryChannelsRequest(
    JsonObject FilterConditions,
    IReadOnlyList<ChannelSort>? Sort = null,
    string? UserId = null,
    int Limit = 10,
    int Offset = 0,
    bool State = true,
    bool Watch = false,
    bool Presence = false,
    int? MessageLimit = null);

/// <summary>The answer to <c>GET /users</c> (query users): a list, unlike the upserts' map.</summary>
internal sealed record QueryUsersResponse(IReadOnlyList<StreamUserInfo> Users);

/// <summary>Stream's error body.</summary>
internal sealed record StreamErrorBody(int Code, string? Message, [property: JsonPropertyName("StatusCode")] int StatusCode, string? Duration, string? MoreInfo);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UpsertUsersRequest))]
[JsonSerializable(typeof(PartialUpdateUsersRequest))]
[JsonSerializable(typeof(UsersResponse))]
[JsonSerializable(typeof(QueryUsersResponse))]
[JsonSerializable(typeof(ChannelStateResponse))]
[JsonSerializable(typeof(QueryChannelsRequest))]
[JsonSerializable(typeof(QueryChannelsResponse))]
[JsonSerializable(typeof(StreamChannelResponse))]
[JsonSerializable(typeof(SendMessageResponse))]
[JsonSerializable(typeof(StreamErrorBody))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class StreamJsonContext : JsonSerializerContext;
