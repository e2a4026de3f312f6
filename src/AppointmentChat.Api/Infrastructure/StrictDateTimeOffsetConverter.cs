using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// Reads ISO 8601 date-times only when they state their offset ("Z" or "+01:00"): a time without one
/// is ambiguous for clinics in different zones, so it is refused rather than guessed. Writes UTC.
/// </summary>
internal sealed class StrictDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("Expected an ISO 8601 date-time string with an offset.");
        }

        var text = reader.GetString()!;
        if (!HasExplicitOffset(text)
            || !DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
        {
            throw new JsonException("Expected an ISO 8601 date-time with an offset, such as 2025-01-15T14:00:00Z or 2025-01-15T15:00:00+01:00.");
        }

        return value;
    }

    /// <summary>
    /// UTC with milliseconds, as JavaScript's <c>Date.prototype.toISOString()</c> writes it: the round-trip format
    /// ("O", yyyy-MM-ddTHH:mm:ss.fffffffZ for a UTC time) cut to three fractional digits. "O" has a formatter of its
    /// own, where a custom format string is interpreted character by character on every date written (two per chat
    /// in a list).
    /// </summary>
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> text = stackalloc byte[RoundTripLength];
        if (!value.UtcDateTime.TryFormat(text, out var written, "O", CultureInfo.InvariantCulture) || written != RoundTripLength)
        {
            throw new JsonException($"{value.UtcDateTime.Ticks} ticks did not format as a round-trip date-time.");
        }

        text[MillisecondsEnd] = (byte)'Z';
        writer.WriteStringValue(text[..(MillisecondsEnd + 1)]);
    }

    /// <summary>"yyyy-MM-ddTHH:mm:ss.fffffffZ": every UTC <see cref="DateTime"/> formats to this many bytes.</summary>
    private const int RoundTripLength = 28;

    /// <summary>Where "yyyy-MM-ddTHH:mm:ss.fff" ends.</summary>
    private const int MillisecondsEnd = 23;

    /// <summary>The forms accepted: seconds, fractions of a second, or minutes only. "K" also matches no offset at all.</summary>
    internal static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mmK",
    ];

    internal static bool HasExplicitOffset(string text) =>
        text.Length > 10 && (text.EndsWith('Z') || text.EndsWith('z') || text.AsSpan(10).LastIndexOfAny('+', '-') > 0);
}
