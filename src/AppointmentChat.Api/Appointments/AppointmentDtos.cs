using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Appointments;

/// <summary>What the PMS pushes with <c>PUT /api/appointments/{appointmentId}</c>.</summary>
internal sealed record AppointmentRequest(
    string? PetOwnerId,
    string? VetId,
    string? OrganisationId,
    DateTimeOffset? StartsAt,
    int? DurationMinutes,
    string? PetOwnerName = null,
    string? PetName = null,
    string? VetName = null,
    AppointmentStatus? Status = null,
    int? ChatActivationMinutes = null,
    string? TimeZone = null)
{
    public const int MaxDurationMinutes = 24 * 60;
    public const int MaxActivationMinutes = 24 * 60;

    public static readonly AppointmentRequest Example = new(
        "owner-1", "vet-1", "clinic-1", new DateTimeOffset(2030, 1, 15, 13, 0, 0, TimeSpan.Zero), 30,
        PetOwnerName: "Alex", PetName: "Rex", VetName: "Dr. Vet", Status: AppointmentStatus.Upcoming, ChatActivationMinutes: 5,
        TimeZone: "Europe/London");

    // Appointment times need no sub-second precision, and both databases keep whole seconds exactly.
    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        DateTimeOffset.FromUnixTimeSeconds(value.ToUnixTimeSeconds());

    /// <summary>Checks every field; returns the normalised facts, or null with <paramref name="errors"/> filled.</summary>
    /// <param name="systemUserId">The Stream user that speaks for the practice, which no pet owner or vet may be.</param>
    public AppointmentFacts? Validate(RequestErrors errors, int defaultActivationMinutes, string systemUserId)
    {
        var petOwnerId = errors.RequiredId("petOwnerId", PetOwnerId, StreamIds.MaxUserIdLength);
        var vetId = errors.RequiredId("vetId", VetId, StreamIds.MaxUserIdLength);
        var organisationId = errors.RequiredId("organisationId", OrganisationId, StreamIds.MaxUserIdLength);
        var petOwnerName = errors.OptionalText("petOwnerName", PetOwnerName, Appointment.MaxNameLength);
        var petName = errors.OptionalText("petName", PetName, Appointment.MaxNameLength);
        var vetName = errors.OptionalText("vetName", VetName, Appointment.MaxNameLength);
        var duration = errors.IntInRange("durationMinutes", DurationMinutes, 1, MaxDurationMinutes, required: true);
        var activation = errors.IntInRange("chatActivationMinutes", ChatActivationMinutes, 0, MaxActivationMinutes, required: false);

        if (StartsAt is null)
        {
            errors.Add("startsAt", "is required.");
        }
        else if (StartsAt.Value.Year is < 2000 or > 2999)
        {
            errors.Add("startsAt", "must be between the years 2000 and 2999.");
        }

        // Only an id the service knows: a zone it cannot read would make every local time the apps send a disagreement.
        if (TimeZone is not null && TimeZones.Find(TimeZone) is null)
        {
            errors.Add("timeZone", TimeZones.Expected);
        }

        if (petOwnerId is not null && petOwnerId == vetId)
        {
            errors.Add("vetId", "must differ from petOwnerId.");
        }

        // The system user's messages notify no one and speak for the practice: a participant cannot be it.
        if (Organisations.SystemUserIds.IsSystemUser(petOwnerId, systemUserId))
        {
            errors.Add("petOwnerId", $"must not be '{systemUserId}' or start with '{systemUserId}@': those are the practices' own chat users.");
        }

        if (Organisations.SystemUserIds.IsSystemUser(vetId, systemUserId))
        {
            errors.Add("vetId", $"must not be '{systemUserId}' or start with '{systemUserId}@': those are the practices' own chat users.");
        }

        if (errors.Any)
        {
            return null;
        }

        return new AppointmentFacts(
            petOwnerId!, petOwnerName, petName, vetId!, vetName, organisationId!,
            TruncateToSeconds(StartsAt!.Value), duration!.Value, Status ?? AppointmentStatus.Upcoming,
            activation ?? defaultActivationMinutes, TimeZone);
    }
}

/// <summary>A validated <see cref="AppointmentRequest"/>.</summary>
internal sealed record AppointmentFacts(
    string PetOwnerId,
    string? PetOwnerName,
    string? PetName,
    string VetId,
    string? VetName,
    string OrganisationId,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    AppointmentStatus Status,
    int ChatActivationMinutes,
    string? TimeZone)
{
    public bool SameAs(Appointment a) =>
        a.PetOwnerId == PetOwnerId && a.PetOwnerName == PetOwnerName && a.PetName == PetName
        && a.VetId == VetId && a.VetName == VetName && a.OrganisationId == OrganisationId
        && a.StartsAt == StartsAt && a.DurationMinutes == DurationMinutes && a.Status == Status
        && a.ChatActivationMinutes == ChatActivationMinutes && a.TimeZone == TimeZone;

    public void ApplyTo(Appointment a)
    {
        a.PetOwnerId = PetOwnerId;
        a.PetOwnerName = PetOwnerName;
        a.PetName = PetName;
        a.VetId = VetId;
        a.VetName = VetName;
        a.OrganisationId = OrganisationId;
        a.StartsAt = StartsAt;
        a.DurationMinutes = DurationMinutes;
        a.Status = Status;
        a.ChatActivationMinutes = ChatActivationMinutes;
        a.TimeZone = TimeZone;
    }
}

internal sealed record AppointmentResponse(
    string Id,
    string PetOwnerId,
    string? PetOwnerName,
    string? PetName,
    string VetId,
    string? VetName,
    string OrganisationId,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    AppointmentStatus Status,
    int ChatActivationMinutes,
    string? TimeZone,
    string? ChannelId,
    ChatStatus? ChatStatus,
    DateTimeOffset? ChatEndedAt,
    string? ChatEndedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>A new appointment: no chat yet (the absent members are absent on the wire too).</summary>
    public static readonly AppointmentResponse NewExample = new(
        "apt-1", "owner-1", "Alex", "Rex", "vet-1", "Dr. Vet", "clinic-1", new DateTimeOffset(2030, 1, 15, 13, 0, 0, TimeSpan.Zero), 30,
        AppointmentStatus.Upcoming, 5, "Europe/London", null, null, null, null,
        new DateTimeOffset(2030, 1, 10, 8, 0, 0, TimeSpan.Zero), new DateTimeOffset(2030, 1, 10, 8, 0, 0, TimeSpan.Zero));

    public static readonly AppointmentResponse ChattingExample = NewExample with
    {
        ChannelId = "appointment-apt-1",
        ChatStatus = Appointments.ChatStatus.Active,
        UpdatedAt = new DateTimeOffset(2030, 1, 15, 12, 55, 0, TimeSpan.Zero),
    };

    public static AppointmentResponse From(Appointment a, AppointmentChatState chat) => new(
        a.Id, a.PetOwnerId, a.PetOwnerName, a.PetName, a.VetId, a.VetName, a.OrganisationId,
        a.StartsAt, a.DurationMinutes, a.Status, a.ChatActivationMinutes, a.TimeZone,
        chat.ChannelId, chat.Status, chat.EndedAt, chat.EndedBy, a.CreatedAt, a.UpdatedAt);
}
