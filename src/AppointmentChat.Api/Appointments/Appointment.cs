namespace AppointmentChat.Api.Appointments;

/// <summary>
/// The facts about an appointment that chat needs, pushed by the practice-management system,
/// plus the state of the appointment's chat.
/// </summary>
internal sealed class Appointment : IChatSchedule
{
    /// <summary>The PMS's id; the channel is <c>appointment-{Id}</c>, so at most 52 characters.</summary>
    public required string Id { get; init; }

    public required string PetOwnerId { get; set; }

    public string? PetOwnerName { get; set; }

    public string? PetName { get; set; }

    public required string VetId { get; set; }

    public string? VetName { get; set; }

    public required string OrganisationId { get; set; }

    /// <summary>Start of the appointment (stored in UTC).</summary>
    public DateTimeOffset StartsAt { get; set; }

    public int DurationMinutes { get; set; }

    public AppointmentStatus Status { get; set; }

    /// <summary>The chat opens this many minutes before <see cref="StartsAt"/>.</summary>
    public int ChatActivationMinutes { get; set; }

    /// <summary>The Stream channel id (<c>appointment-{Id}</c>), once the chat exists.</summary>
    public string? ChannelId { get; set; }

    /// <summary>The chat's state as last applied to Stream: pending (frozen), active, ended.</summary>
    public ChatStatus? ChatStatus { get; set; }

    /// <summary>When the chat was ended, or decided to end (the scheduler then applies it to Stream).</summary>
    public DateTimeOffset? ChatEndedAt { get; set; }

    /// <summary>Who ended it: a user id, or the system user when it closed on the clock.</summary>
    public string? ChatEndedBy { get; set; }

    public DateTimeOffset? ChatCreatedAt { get; set; }

    /// <summary>Whether the channel is frozen in Stream (as last written by us or reported by a webhook).</summary>
    public bool ChatFrozen { get; set; }

    /// <summary>The members the channel has in Stream, so a change of vet knows whom to remove.</summary>
    public string? ChannelPetOwnerId { get; set; }

    public string? ChannelVetId { get; set; }

    /// <summary>The channel mirror: the last message's id, text (or "[Media message]") and time.</summary>
    public string? LastMessageId { get; set; }

    public string? LastMessageText { get; set; }

    public DateTimeOffset? LastMessageAt { get; set; }

    /// <summary>Stream's <c>updated_at</c> of the channel as last mirrored, so an older event never undoes a newer one.</summary>
    public DateTimeOffset? ChannelUpdatedAt { get; set; }

    /// <summary>When Stream reported the channel deleted.</summary>
    public DateTimeOffset? ChannelDeletedAt { get; set; }

    /// <summary>Sort key of the chat list: the last message's time, else the chat's creation.</summary>
    public DateTimeOffset? LastActivityAt { get; set; }

    /// <summary>When the chat scheduler must next look at this chat (a window edge, or a change to apply); null: never.</summary>
    public DateTimeOffset? ChatSyncDue { get; set; }

    public int ChatSyncAttempts { get; set; }

    /// <summary>Why the last attempt to bring Stream in line failed, for operators.</summary>
    public string? ChatSyncError { get; set; }

    /// <summary>An instance working on this chat holds it until then (several instances, one database).</summary>
    public DateTimeOffset? ChatLeaseUntil { get; set; }

    public string? ChatLeaseOwner { get; set; }

    /// <summary>Optimistic concurrency: bumped by every write.</summary>
    public int Version { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public const int MaxIdLength = 52;

    /// <summary>How much of the last message <see cref="LastMessageText"/> holds.</summary>
    public const int MaxLastMessageLength = 500;
    public const int MaxNameLength = 200;
}

/// <summary>When an appointment takes place, and how early its chat opens.</summary>
internal interface IChatSchedule
{
    DateTimeOffset StartsAt { get; }

    int DurationMinutes { get; }

    int ChatActivationMinutes { get; }
}

/// <summary>
/// What the appointment's chat needs from the appointments feature and does when the PMS changes an appointment;
/// implemented by the chat (Channels), so appointments know nothing of how a chat works.
/// </summary>
internal interface IAppointmentChat
{
    /// <summary>How many minutes before the appointment its chat opens, unless the PMS says otherwise.</summary>
    int DefaultActivationMinutes { get; }

    /// <summary>The id the chat's system messages come from: no person of an appointment may have it.</summary>
    string SystemUserId { get; }

    /// <summary>Before the changed facts are saved: have the chat follow them (end it, if the new status ends chats).</summary>
    void OnFactsChanged(Appointment appointment, string changedBy, DateTimeOffset now);

    /// <summary>After they are saved, when the chat has work due.</summary>
    void WakeScheduler();
}

internal enum AppointmentStatus
{
    Requested,
    Upcoming,
    CheckedIn,
    InProgress,
    Completed,
    Cancelled,
    NoShow,
}

internal enum ChatStatus
{
    Pending,
    Active,
    Ended,
}
