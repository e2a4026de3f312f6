using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Organisations;
using NodaTime;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// Reads the wall-clock times the apps send about an appointment (<c>appointmentTime</c> without an offset) in its
/// organisation's zone: the one pushed with the appointment, else the organisation's own setting, else the one configured
/// for the organisation (<c>Chat__TimeZones__{organisationId}</c>), else UTC.
/// </summary>
internal static class AppointmentTimeZones
{
    /// <summary>The zone an appointment's local times are read in, and why that one.</summary>
    public static (DateTimeZone Zone, string Source) For(string? pushed, PracticeSettings practice)
    {
        if (TimeZones.Find(pushed) is { } zone)
        {
            return (zone, "the appointment's time zone");
        }

        // Validated when set and at startup: a zone of the organisation's is one.
        return TimeZones.Find(practice.TimeZone) is { } organisations
            ? (organisations, practice.OwnTimeZone ? "the organisation's time zone setting" : "the organisation's configured time zone")
            : (DateTimeZone.Utc, "no time zone is known for the appointment's organisation");
    }

    /// <summary>Why <paramref name="time"/> is not the start of <paramref name="appointment"/>, if it is not. Compared in whole seconds.</summary>
    public static string? Disagreement(LocalOrOffsetTime time, ChatFacts appointment, PracticeSettings practice)
    {
        var start = appointment.StartsAt.ToUnixTimeSeconds();
        if (time.Instant is { } instant)
        {
            return instant.ToUnixTimeSeconds() == start ? null : "appointmentTime does not match the appointment's start time.";
        }

        var (zone, source) = For(appointment.TimeZone, practice);
        var readIn = $"appointmentTime {time} (no offset) is read in {zone.Id} ({source})";

        // A record's start lies in the years 2000 to 2999 (the push checks it); nothing outside them can match it.
        if (time.DateTime.Year is < 2000 or > 2999)
        {
            return $"{readIn}, and does not match the appointment's start time.";
        }

        var mapping = zone.MapLocal(LocalDateTime.FromDateTime(time.DateTime));
        if (mapping.Count == 0)
        {
            // In the hour the clocks skip no instant reads so: it cannot be the start of any appointment.
            return $"{readIn}, where that local time does not exist (the clocks go forward over it).";
        }

        // In the hour the clocks repeat it is two instants (First and Last), either of which may be the appointment's.
        return mapping.First().ToDateTimeOffset().ToUnixTimeSeconds() == start || mapping.Last().ToDateTimeOffset().ToUnixTimeSeconds() == start
            ? null
            : $"{readIn}, and does not match the appointment's start time.";
    }
}
