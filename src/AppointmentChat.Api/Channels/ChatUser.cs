namespace AppointmentChat.Api.Channels;

/// <summary>
/// A chat participant's display name, and the name last sent to Stream: users are upserted only when
/// they are new to Stream or their name changed (Stream allows 300 user upserts a minute per app).
/// </summary>
internal sealed class ChatUser
{
    public required string Id { get; init; }

    public string? Name { get; set; }

    /// <summary>The name as last upserted to Stream; null while never upserted.</summary>
    public string? StreamName { get; set; }

    public DateTimeOffset? SyncedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
