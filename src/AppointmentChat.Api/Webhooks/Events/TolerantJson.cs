using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AppointmentChat.Api.Webhooks.Events;

// Converters that read a webhook field of another JSON kind than expected as missing (null, false, 0) instead of
// failing the event: Stream adds and reshapes fields, and a field the service cannot use must not park an event whose
// handler never needs it. The handlers decide what is required, and say so when it is missing.

/// <summary>
/// A string field, made storable: a NUL (which PostgreSQL cannot keep in text) is dropped, and an escape that is not
/// valid UTF-16 (a lone surrogate) is kept as written, so that neither makes an event fail for good. Not a string: null.
/// </summary>
internal sealed class TolerantStringConverter : ReadOnlyConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }

        string text;
        try
        {
            text = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            text = Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
        }

        return text.Contains('\0', StringComparison.Ordinal) ? text.Replace("\0", "", StringComparison.Ordinal) : text;
    }
}

/// <summary>A flag is set only by <c>true</c>; anything else (missing, null, <c>"true"</c>, 1) leaves it unset.</summary>
internal sealed class TolerantBooleanConverter : ReadOnlyConverter<bool>
{
    public override bool Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var value = reader.TokenType == JsonTokenType.True;
        reader.Skip();
        return value;
    }
}

/// <summary>An object field; anything but an object reads as missing.</summary>
internal sealed class TolerantObjectConverter<T> : ReadOnlyConverter<T> where T : class
{
    public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        return JsonSerializer.Deserialize(ref reader, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)));
    }
}

/// <summary>An array of objects, keeping only its objects; anything but an array reads as missing.</summary>
internal sealed class TolerantListConverter<T> : ReadOnlyConverter<IReadOnlyList<T>> where T : class
{
    public override IReadOnlyList<T>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        var items = new List<T>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                items.Add(JsonSerializer.Deserialize(ref reader, info)!);
            }
            else
            {
                reader.Skip();
            }
        }

        return items;
    }
}

/// <summary>
/// The kinds of a message's attachments (each item's <c>type</c>: <c>image</c>, <c>video</c>, <c>file</c>, …; "" for an
/// item without one). Stream's link previews (items with <c>og_scrape_url</c>, added for a URL in the text) are not
/// attachments the sender chose and are left out; anything but an array holds none.
/// </summary>
internal sealed class AttachmentTypesConverter : ReadOnlyConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return [];
        }

        var types = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                types.Add("");
                continue;
            }

            using var item = JsonDocument.ParseValue(ref reader);
            if (TypeOf(item.RootElement) is { } type)
            {
                types.Add(type);
            }
        }

        return types;
    }

    /// <summary>The kinds of the attachments in <paramref name="attachments"/> as Stream's API returns them (the catch-up pass).</summary>
    public static IReadOnlyList<string> TypesOf(JsonElement? attachments) =>
        attachments is { ValueKind: JsonValueKind.Array } array
            ? [.. array.EnumerateArray().Select(item => item.ValueKind == JsonValueKind.Object ? TypeOf(item) : "").OfType<string>()]
            : [];

    /// <summary>An attachment's kind; null for a link preview.</summary>
    private static string? TypeOf(JsonElement item) =>
        item.TryGetProperty("og_scrape_url", out _) ? null
        : item.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString()!
        : "";
}

/// <summary>A count: a whole number from 0 up; anything else reads as missing.</summary>
internal sealed class TolerantCountConverter : ReadOnlyConverter<int?>
{
    public override bool HandleNull => true;

    public override int? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        int? value = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var number) && number >= 0 ? number : null;
        reader.Skip();
        return value;
    }
}

/// <summary>Webhook events are only ever read.</summary>
internal abstract class ReadOnlyConverter<T> : JsonConverter<T>
{
    public sealed override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        throw new NotSupportedException("webhook events are read, never written");
}
