namespace AppointmentChat.Api.Channels;

/// <summary>
/// A chat participant as the service knows them: the display name used in chat lists and push titles
/// (the latest from the PMS or from Stream's <c>user.updated</c>), and the PMS name last upserted to
/// Stream, so users are upserted only when new to Stream or renamed by the PMS (Stream allows 300 user
/// upserts a minute per app, and an upsert replaces what the apps set on the user).
/// </summary>
internal sealed class ChatUser
{
    public required string Id { get; init; }

    /// <summary>The display name: the latest known, from the PMS or from Stream.</summary>
    public string? Name { get; set; }

    /// <summary>The name from the appointment facts as last upserted to Stream.</summary>
    public string? PushedName { get; set; }

    /// <summary>When the user was last upserted to Stream; null while never.</summary>
    public DateTimeOffset? SyncedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
