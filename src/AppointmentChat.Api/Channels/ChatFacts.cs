using AppointmentChat.Api.Appointments;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// What decides who may open an appointment's chat and when it is open: the few columns of its row that
/// <c>POST /api/chat/channels</c> reads on every open (<see cref="Data.ChatReads"/>).
/// </summary>
internal sealed record ChatFacts(
    string Id,
    string PetOwnerId,
    string VetId,
    string OrganisationId,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    int ChatActivationMinutes,
    AppointmentStatus Status,
    string? ChannelId,
    ChatStatus? ChatStatus,
    int Version) : IChatSchedule;
