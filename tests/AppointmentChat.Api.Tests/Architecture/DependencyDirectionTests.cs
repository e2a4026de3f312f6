using System.Text.RegularExpressions;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Architecture;

/// <summary>
/// The shape of the service, read from its own sources: every folder of <c>src/AppointmentChat.Api</c> is a namespace,
/// and a folder uses only the folders below it in <see cref="Layers"/> — the floor (Infrastructure, Data, Stream) knows
/// no feature, and features form no cycle. A reference is a <c>using</c> directive or a name qualified by a sibling
/// namespace (<c>Channels.ChatLimits</c>), outside comments.
/// </summary>
public sealed partial class DependencyDirectionTests
{
    /// <summary>Lowest first: each folder may use the folders before it, never one after it (nor one on its own row).</summary>
    private static readonly string[][] Layers =
    [
        ["Infrastructure"],
        ["Data", "Stream"],
        ["Auth"],
        ["RateLimiting"],
        ["Organisations"],
        ["Appointments"],
        ["Unread"],
        ["Channels"],
        ["Transcripts"],
        ["Notifications"],
        ["Webhooks"],
        ["Tokens"],
        ["Operations"],
        ["Operator"],
        ["Privacy"],
        ["Demo"],
    ];

    [Fact]
    public void EveryFileLivesInTheNamespaceOfItsFolder()
    {
        var wrong = SourceFiles()
            .Where(f => f.Folder is not null && !Regex.IsMatch(f.Text, $@"^namespace AppointmentChat\.Api\.{f.Folder}(\.[A-Za-z.]+)?;", RegexOptions.Multiline))
            .Select(f => f.Path)
            .ToList();

        Assert.Empty(wrong);
    }

    [Fact]
    public void DependenciesPointDownOnlyAndFeaturesFormNoCycle()
    {
        var rank = Layers.SelectMany((row, i) => row.Select(folder => (folder, i))).ToDictionary(x => x.folder, x => x.i);
        var found = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var file in SourceFiles().Where(f => f.Folder is not null))
        {
            Assert.True(rank.ContainsKey(file.Folder!), $"{file.Folder} (of {file.Path}) has no place in Layers: give it one");
            var code = WithoutComments(file.Text);
            var used = Using().Matches(code).Select(m => m.Groups[1].Value)
                .Concat(Qualified().Matches(code).Select(m => m.Groups[1].Value))
                .Where(rank.ContainsKey)
                .Where(target => target != file.Folder);
            foreach (var target in used.Where(target => rank[target] >= rank[file.Folder!]))
            {
                var edge = $"{file.Folder} -> {target}";
                if (!found.TryGetValue(edge, out var files))
                {
                    found[edge] = files = new SortedSet<string>(StringComparer.Ordinal);
                }

                files.Add(file.Path);
            }
        }

        var wrong = found.Select(e => $"{e.Key} ({string.Join(", ", e.Value)})").ToList();
        Assert.True(wrong.Count == 0, "References pointing up or sideways:\n" + string.Join("\n", wrong));
    }

    [Fact]
    public void TheCheckSeesAReferencePointingUp()
    {
        var code = WithoutComments("""
            using AppointmentChat.Api.Channels; // a comment naming Webhooks.Something
            /// <see cref="Notifications.Device"/>
            var limit = Appointments.AppointmentsApi.MaxIdLength; var s = System.Data.Common.DbType.String;
            """);

        Assert.Equal(["Channels"], Using().Matches(code).Select(m => m.Groups[1].Value));
        Assert.Equal(["Appointments"], Qualified().Matches(code).Select(m => m.Groups[1].Value).Where(Layers.SelectMany(row => row).Contains));
    }

    private sealed record SourceFile(string Path, string? Folder, string Text);

    private static IEnumerable<SourceFile> SourceFiles()
    {
        var project = Path.Combine(RepositoryRoot(), "src", "AppointmentChat.Api");
        foreach (var path in Directory.EnumerateFiles(project, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(project, path).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal)
                || relative.Contains("/Migrations/", StringComparison.Ordinal) || relative.Contains("node_modules/", StringComparison.Ordinal))
            {
                continue; // build output, and migrations EF Core generates
            }

            var folder = relative.Contains('/', StringComparison.Ordinal) ? relative[..relative.IndexOf('/', StringComparison.Ordinal)] : null;
            yield return new SourceFile(relative, folder, File.ReadAllText(path));
        }
    }

    private static string RepositoryRoot() => Repository.Root();

    /// <summary>The code without <c>//</c> and <c>/* */</c> comments (doc comments included) and without string literals.</summary>
    private static string WithoutComments(string text) => Comments().Replace(text, "");

    [GeneratedRegex("""@?"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/""", RegexOptions.Singleline)]
    private static partial Regex Comments();

    [GeneratedRegex(@"^\s*using\s+(?:static\s+)?AppointmentChat\.Api\.([A-Za-z]+)", RegexOptions.Multiline)]
    private static partial Regex Using();

    /// <summary><c>Folder.Type</c> not itself part of a longer qualified name (<c>System.Data.Common</c> is not Data).</summary>
    [GeneratedRegex(@"(?<![\w.])([A-Z][A-Za-z]+)\.[A-Z]\w*")]
    private static partial Regex Qualified();
}
