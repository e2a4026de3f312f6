using AppointmentChat.Api.Appointments;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// The chat's clock: it opens <c>ChatActivationMinutes</c> before the appointment and closes
/// <c>Chat__CloseGraceMinutes</c> after its end; some appointment statuses end it at once.
/// </summary>
internal static class ChatWindow
{
    public static DateTimeOffset ActivatesAt<TSchedule>(TSchedule appointment) where TSchedule : IChatSchedule =>
        appointment.StartsAt.AddMinutes(-appointment.ChatActivationMinutes);

    public static DateTimeOffset ClosesAt<TSchedule>(TSchedule appointment, ChatOptions options) where TSchedule : IChatSchedule =>
        appointment.StartsAt.AddMinutes(appointment.DurationMinutes + options.CloseGraceMinutes);

    /// <summary>Cancelled and no-show appointments end the chat; a completed one too unless it is kept open.</summary>
    public static bool StatusEndsChat(AppointmentStatus status, ChatOptions options) =>
        status is AppointmentStatus.Cancelled or AppointmentStatus.NoShow
        || (status == AppointmentStatus.Completed && !options.KeepOpenAfterCompletion);

    /// <summary>What the chat should be at <paramref name="now"/>, given the appointment as it is and when its end was decided (if it was).</summary>
    public static ChatStatus DesiredStatus(Appointment appointment, DateTimeOffset? endedAt, DateTimeOffset now, ChatOptions options)
    {
        if (endedAt is not null || StatusEndsChat(appointment.Status, options) || now >= ClosesAt(appointment, options))
        {
            return ChatStatus.Ended;
        }

        return now >= ActivatesAt(appointment) ? ChatStatus.Active : ChatStatus.Pending;
    }

    /// <summary>When a chat in <paramref name="status"/> next changes on its own; null once ended.</summary>
    public static DateTimeOffset? NextEdge(Appointment appointment, ChatStatus status, ChatOptions options) => status switch
    {
        ChatStatus.Pending => ActivatesAt(appointment),
        ChatStatus.Active => ClosesAt(appointment, options),
        _ => null,
    };
}
