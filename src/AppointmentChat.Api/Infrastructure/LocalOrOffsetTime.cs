using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// A date-time as the caller wrote it: with an offset ("Z", "+01:00") it is an instant; without one it is a wall-clock
/// time, and the endpoint that reads it decides in which zone. For the few fields that must take what apps build from
/// a local clock; every other date-time stays strict (<see cref="StrictDateTimeOffsetConverter"/>).
/// </summary>
[JsonConverter(typeof(LocalOrOffsetTimeConverter))]
internal readonly record struct LocalOrOffsetTime(DateTime DateTime, TimeSpan? Offset)
{
    /// <summary>The instant, when the caller stated the offset.</summary>
    public DateTimeOffset? Instant => Offset is { } offset ? new DateTimeOffset(DateTime, offset) : null;

    public override string ToString() => Instant is { } instant
        ? instant.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture)
        : DateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);
}

/// <summary>The forms <see cref="StrictDateTimeOffsetConverter"/> accepts, each also without its offset.</summary>
internal sealed class LocalOrOffsetTimeConverter : JsonConverter<LocalOrOffsetTime>
{
    private const string Expected =
        "Expected an ISO 8601 date-time such as 2025-01-15T14:00:00Z, 2025-01-15T15:00:00+01:00 or, in local time, 2025-01-15T15:00:00.";

    public override LocalOrOffsetTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException(Expected);
        }

        var text = reader.GetString()!;
        if (StrictDateTimeOffsetConverter.HasExplicitOffset(text))
        {
            return DateTimeOffset.TryParseExact(text, StrictDateTimeOffsetConverter.Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant)
                ? new LocalOrOffsetTime(instant.DateTime, instant.Offset)
                : throw new JsonException(Expected);
        }

        // Without an offset the "K" of each form matches nothing, and the time is read as written (DateTimeKind.Unspecified).
        return DateTime.TryParseExact(text, StrictDateTimeOffsetConverter.Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            && local.Kind == DateTimeKind.Unspecified
                ? new LocalOrOffsetTime(local, null)
                : throw new JsonException(Expected);
    }

    public override void Write(Utf8JsonWriter writer, LocalOrOffsetTime value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
