namespace AppointmentChat.Api.Appointments;

/// <summary>
/// The facts about an appointment that chat needs, pushed by the practice-management system. Its chat shares the
/// row (Channels' <c>Chat</c>), and with it the version.
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

    /// <summary>
    /// The IANA zone of the appointment's organisation, when the PMS pushes it: wall-clock times the apps send about the
    /// appointment are read in it (Channels' <c>AppointmentTimeZones</c>).
    /// </summary>
    public string? TimeZone { get; set; }

    public AppointmentStatus Status { get; set; }

    /// <summary>The chat opens this many minutes before <see cref="StartsAt"/>.</summary>
    public int ChatActivationMinutes { get; set; }

    /// <summary>Optimistic concurrency: bumped by every write of the facts or of the chat's decisions (the row's version).</summary>
    public int Version { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public const int MaxIdLength = 52;

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

    /// <summary>
    /// Before the changed facts of <paramref name="appointment"/> (tracked, its version moved) are saved: the chat follows
    /// them in the same save (it ends, if the new status ends chats). True when the chat then has work due.
    /// </summary>
    Task<bool> OnFactsChangedAsync(Appointment appointment, string changedBy, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>After they are saved, when the chat has work due.</summary>
    void WakeScheduler();

    /// <summary>The chat as the appointment shows it; all empty while it has none.</summary>
    Task<AppointmentChatState> StateAsync(string appointmentId, CancellationToken cancellationToken);
}

/// <summary>The chat of an appointment as the appointment shows it.</summary>
internal sealed record AppointmentChatState(string? ChannelId, ChatStatus? Status, DateTimeOffset? EndedAt, string? EndedBy)
{
    public static readonly AppointmentChatState None = new(null, null, null, null);
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
