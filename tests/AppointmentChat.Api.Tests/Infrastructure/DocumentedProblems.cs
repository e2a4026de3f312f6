using System.Text.RegularExpressions;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>The problem codes table of docs/api.md, as apps read it: code → status (or "other") and <c>error</c>.</summary>
public static partial class DocumentedProblems
{
    private static readonly Lazy<IReadOnlyDictionary<string, (string Status, string Error)>> Table = new(Read);

    public static IReadOnlyDictionary<string, (string Status, string Error)> Codes => Table.Value;

    private static Dictionary<string, (string Status, string Error)> Read()
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root(), "docs", "api.md"));
        var start = text.IndexOf("## Problem codes", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/api.md has no '## Problem codes' section");
        var end = text.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? text[start..] : text[start..end];
        var rows = Row().Matches(section).ToDictionary(m => m.Groups["code"].Value, m => (m.Groups["status"].Value, m.Groups["error"].Value.Trim()));
        Assert.True(rows.Count > 10, "the problem codes table of docs/api.md has no rows this test can read");
        return rows;
    }

    [GeneratedRegex(@"^\| `(?<code>[a-z0-9-]+)` \| (?<status>\d{3}|other) \| (?<error>[^|]+) \|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
