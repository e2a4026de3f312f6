namespace AppointmentChat.Api.Appointments;

/// <summary>
/// The facts about an appointment that chat needs, pushed by the practice-management system,
/// plus the state of the appointment's chat.
/// </summary>
internal sealed class Appointment
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

    /// <summary>The Stream channel id, once the chat exists.</summary>
    public string? ChannelId { get; set; }

    public ChatStatus? ChatStatus { get; set; }

    public DateTimeOffset? ChatEndedAt { get; set; }

    public string? ChatEndedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public const int MaxIdLength = 52;
    public const int MaxNameLength = 200;
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
