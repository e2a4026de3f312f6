using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

public sealed class EmulatedUser
{
    public required string Id { get; init; }

    public string Role { get; set; } = "user";

    /// <summary>Custom fields such as <c>name</c> and <c>image</c>, as Stream keeps them.</summary>
    public JsonObject Custom { get; set; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? RevokeTokensIssuedBefore { get; set; }

    public DateTimeOffset? LastActive { get; set; }

    /// <summary>When the user was soft-deleted (<c>DELETE /users/{id}</c> without <c>hard_delete</c>).</summary>
    public DateTimeOffset? DeletedAt { get; set; }
}

public sealed class EmulatedChannel
{
    public required string Type { get; init; }

    public required string Id { get; init; }

    public string Cid => $"{Type}:{Id}";

    public required string CreatedById { get; init; }

    public JsonObject Custom { get; set; } = [];

    public bool Frozen { get; set; }

    public bool Disabled { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? LastMessageAt { get; set; }

    public List<EmulatedMember> Members { get; } = [];

    public List<EmulatedMessage> Messages { get; } = [];

    /// <summary>Per user: when they last read the channel and the last message they read.</summary>
    public Dictionary<string, (DateTimeOffset At, string? MessageId)> Reads { get; } = new(StringComparer.Ordinal);

    public bool IsMember(string userId) => Members.Exists(m => m.UserId == userId);
}

public sealed class EmulatedMember
{
    public required string UserId { get; init; }

    public string ChannelRole { get; set; } = "channel_member";

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed class EmulatedMessage
{
    public required string Id { get; init; }

    public required string UserId { get; init; }

    public string Text { get; set; } = "";

    /// <summary><c>regular</c>, <c>system</c>, or <c>deleted</c> once deleted.</summary>
    public string Type { get; set; } = "regular";

    public JsonArray Attachments { get; set; } = [];

    public JsonObject Custom { get; set; } = [];

    public bool Silent { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? DeletedAt { get; set; }
}

/// <summary>An event as Stream shapes it; delivered as a webhook and to watchers' connections.</summary>
/// <param name="WatchersOnly">Delivered to client connections only, never as a webhook (typing, watching).</param>
public sealed record EmulatorEvent(string Type, string? Cid, JsonObject Payload, bool WatchersOnly = false);

/// <summary>Receives every event the emulator raises (webhooks, WebSocket connections).</summary>
public interface IEventSink
{
    void Publish(EmulatorEvent emulatorEvent);
}
