using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// What decides who may open an appointment's chat and when it is open: the few columns of its row that
/// <c>POST /api/chat/channels</c> reads on every open (<see cref="IChatReads"/>).
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
    int Version,
    string? TimeZone) : IChatSchedule
{
    public static ChatFacts From(ChatFactsRow row) => new(
        row.Id,
        row.PetOwnerId,
        row.VetId,
        row.OrganisationId,
        row.StartsAt,
        row.DurationMinutes,
        row.ChatActivationMinutes,
        EnumNames<AppointmentStatus>.FromName(row.Status),
        row.ChannelId,
        row.ChatStatus is { } chatStatus ? EnumNames<ChatStatus>.FromName(chatStatus) : null,
        row.Version,
        row.TimeZone);
}
