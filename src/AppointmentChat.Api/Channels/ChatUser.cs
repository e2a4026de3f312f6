namespace AppointmentChat.Api.Channels;

/// <summary>
/// A chat participant as the service knows them: the display name used in chat lists and push titles
/// (the practice's, from the newest appointment write that names them; Stream's <c>user.updated</c> only for someone the
/// practice never named), and the name last sent to Stream, so users are written to Stream only when new to it or
/// renamed by the PMS (Stream allows 300 user upserts a minute per app, and an upsert replaces what the apps set on the
/// user).
/// </summary>
internal sealed class ChatUser
{
    public required string Id { get; init; }

    /// <summary>The display name: the practice's newest, or Stream's for someone the practice never named.</summary>
    public string? Name { get; set; }

    /// <summary>The name Stream has, as last sent to it or reported by it.</summary>
    public string? PushedName { get; set; }

    /// <summary>
    /// When the appointment that gave <see cref="Name"/> was written: an appointment written earlier — its chat brought in
    /// line at its window's edge, after a newer appointment renamed the person — does not give its older name back.
    /// </summary>
    public DateTimeOffset? NamedAt { get; set; }

    /// <summary>When the user was last upserted to Stream; null while never.</summary>
    public DateTimeOffset? SyncedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
