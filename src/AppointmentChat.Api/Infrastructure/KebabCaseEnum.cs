using System.Text.Json;
using System.Text.Json.Serialization;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>The kebab-case names of an enum's members ("checked-in", "no-show"), both ways.</summary>
internal static class EnumNames<TEnum> where TEnum : struct, Enum
{
    private static readonly Dictionary<TEnum, string> Names =
        Enum.GetValues<TEnum>().ToDictionary(v => v, v => JsonNamingPolicy.KebabCaseLower.ConvertName(v.ToString()));

    private static readonly Dictionary<string, TEnum> Values = Names.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    public static string AllowedList { get; } = string.Join(", ", Names.Values);

    public static IReadOnlyCollection<string> All => Names.Values;

    public static string ToName(TEnum value) => Names[value];

    public static TEnum FromName(string name) => Values[name];

    public static bool TryParse(string? name, out TEnum value) => Values.TryGetValue(name ?? "", out value);
}

/// <summary>
/// Enums in JSON are their kebab-case names only: no numbers, no other spellings, and a wrong
/// value is answered with the list of allowed ones.
/// </summary>
internal sealed class KebabCaseEnumConverter : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter?)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert));

    private sealed class Converter<TEnum> : JsonConverter<TEnum> where TEnum : struct, Enum
    {
        public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String && EnumNames<TEnum>.TryParse(reader.GetString(), out var value))
            {
                return value;
            }

            throw new JsonException($"Must be one of: {EnumNames<TEnum>.AllowedList}.");
        }

        public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) =>
            writer.WriteStringValue(EnumNames<TEnum>.ToName(value));
    }
}
