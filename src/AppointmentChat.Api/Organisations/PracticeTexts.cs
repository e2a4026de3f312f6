using System.Globalization;
using System.Resources;

namespace AppointmentChat.Api.Organisations;

/// <summary>
/// The texts the service writes for a practice — system messages and push texts — in its language, from
/// <c>Texts.resx</c> (English, the neutral resources) and <c>Texts.{language}.resx</c>. A text that counts has one entry
/// per plural category, <c>{Key}_one</c> and <c>{Key}_other</c>, with the count as <c>{0}</c>; the category of a count
/// is the language's rule (<see cref="PluralCategory"/>).
/// </summary>
internal sealed class PracticeTexts
{
    /// <summary>The languages the service writes (IETF tags); each but English has its <c>Texts.{tag}.resx</c>.</summary>
    public static readonly string[] Languages = ["en", "de"];

    private static readonly ResourceManager Resources = new("AppointmentChat.Api.Organisations.Texts", typeof(PracticeTexts).Assembly);

    private static readonly Dictionary<string, PracticeTexts> ByLanguage =
        Languages.ToDictionary(l => l, l => new PracticeTexts(l), StringComparer.Ordinal);

    private readonly CultureInfo _culture;

    private PracticeTexts(string language)
    {
        Language = language;
        _culture = CultureInfo.GetCultureInfo(language);
    }

    public string Language { get; }

    /// <summary>The texts of <paramref name="language"/>; English for a language the service does not write.</summary>
    public static PracticeTexts For(string? language) =>
        language is not null && ByLanguage.TryGetValue(language, out var texts) ? texts : ByLanguage["en"];

    public static bool IsKnown(string? language) => language is not null && ByLanguage.ContainsKey(language);

    /// <summary>The text <paramref name="key"/>; a key missing in this language falls back to English.</summary>
    public string Get(string key) =>
        Resources.GetString(key, _culture) ?? throw new InvalidOperationException($"No text '{key}' in Texts.resx.");

    /// <summary>The text <paramref name="key"/> for <paramref name="count"/> things ("1 new message", "3 new messages").</summary>
    public string Count(string key, int count) =>
        string.Format(_culture, Get($"{key}_{PluralCategory(count)}"), count);

    /// <summary>
    /// The CLDR plural category of a whole number; English and German have two ("one" for 1, "other" for everything
    /// else). A language with other categories (Polish: one, few, many) gets a rule of its own here, and its entries.
    /// </summary>
    private static string PluralCategory(int count) => count == 1 ? "one" : "other";
}
