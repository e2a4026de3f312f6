using AppointmentChat.Api.Appointments;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// An appointment's chat: its status, what Stream has (channel, members, frozen, last message), its schedule (when the
/// scheduler must next look at it) and its lease. It shares the appointment's row (EF Core table splitting: one
/// <c>appointments</c> row, one version), so a chat and the facts it follows are read and guarded together; the
/// writes to it are <see cref="ChatRecord"/>'s.
/// </summary>
internal sealed class Chat
{
    /// <summary>The appointment's id (the row's key).</summary>
    public required string AppointmentId { get; init; }

    /// <summary>The practice's facts the chat follows: the same row.</summary>
    public Appointment Appointment { get; init; } = null!;

    /// <summary>The Stream channel id (<c>appointment-{Id}</c>), once the chat exists.</summary>
    public string? ChannelId { get; set; }

    /// <summary>The chat's state as last applied to Stream: pending (frozen), active, ended.</summary>
    public ChatStatus? Status { get; set; }

    /// <summary>When the chat was ended, or decided to end (the scheduler then applies it to Stream).</summary>
    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>Who ended it: a user id, the system user when it closed on the clock, or <see cref="ChatRecord.EndedByStream"/>.</summary>
    public string? EndedBy { get; set; }

    public DateTimeOffset? CreatedAt { get; set; }

    /// <summary>Whether the channel is frozen in Stream (as last written by us or reported by a webhook).</summary>
    public bool Frozen { get; set; }

    /// <summary>The members the channel has in Stream, so a change of vet knows whom to remove.</summary>
    public string? ChannelPetOwnerId { get; set; }

    public string? ChannelVetId { get; set; }

    /// <summary>The channel mirror: the last message's id, text (or "[Media message]") and time.</summary>
    public string? LastMessageId { get; set; }

    public string? LastMessageText { get; set; }

    /// <summary>
    /// The last message's time (Stream's <c>created_at</c>), which decides which of two webhooks delivered out of order is
    /// the last: messages of one burst can share a millisecond, so it is kept to the tick on SQLite too.
    /// </summary>
    [Data.KeptToTheTick]
    public DateTimeOffset? LastMessageAt { get; set; }

    /// <summary>
    /// Stream's <c>updated_at</c> of the channel as last mirrored, so an older event never undoes a newer one; to the
    /// tick on SQLite too, since two updates can share a millisecond.
    /// </summary>
    [Data.KeptToTheTick]
    public DateTimeOffset? ChannelUpdatedAt { get; set; }

    /// <summary>When Stream reported the channel deleted.</summary>
    public DateTimeOffset? ChannelDeletedAt { get; set; }

    /// <summary>Sort key of the chat list: the last message's time, else the chat's creation.</summary>
    public DateTimeOffset? LastActivityAt { get; set; }

    /// <summary>When the chat scheduler must next look at this chat (a window edge, or a change to apply); null: never.</summary>
    public DateTimeOffset? SyncDue { get; set; }

    public int SyncAttempts { get; set; }

    /// <summary>Why the last attempt to bring Stream in line failed, for operators.</summary>
    public string? SyncError { get; set; }

    /// <summary>An instance working on this chat holds it until then (several instances, one database).</summary>
    public DateTimeOffset? LeaseUntil { get; set; }

    public string? LeaseOwner { get; set; }

    /// <summary>The row's version (<see cref="Appointment.Version"/>): bumped by every write of the facts or of a chat decision.</summary>
    public int Version { get; set; }
}
