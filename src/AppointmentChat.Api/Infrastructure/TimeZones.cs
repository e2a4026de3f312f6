using NodaTime;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// IANA time zones (Europe/London), from the tz database built into NodaTime rather than the host's: the same rules on
/// every host, and zones at all in the chiseled image, which carries no /usr/share/zoneinfo.
/// </summary>
internal static class TimeZones
{
    /// <summary>The longest id stored; the longest IANA id has 32 characters.</summary>
    public const int MaxIdLength = 64;

    public const string Expected = "must be an IANA time zone id such as Europe/London or America/New_York (case matters).";

    /// <summary>The zone with this IANA id (or alias), if it is one.</summary>
    public static DateTimeZone? Find(string? id) =>
        id is { Length: > 0 and <= MaxIdLength } ? DateTimeZoneProviders.Tzdb.GetZoneOrNull(id) : null;
}
