using System.Text.Json.Nodes;

namespace AppointmentChat.Api.Stream;

/// <summary>
/// Whether the Stream app refuses the uploads a practice should never receive. Stream blocks no file type by default;
/// the app's <c>file_upload_config</c> (in <c>GET /app</c>) decides, and docs/stream.md ("Attachments") gives the
/// settings we recommend. The dependency check reports what gets through, so a deployment learns of the gap.
/// </summary>
internal static class StreamUploadSettings
{
    /// <summary>A sample of what the recommended settings refuse: programs, scripts, and archives that hide them.</summary>
    public static readonly IReadOnlyList<string> MustRefuse = [".exe", ".msi", ".bat", ".cmd", ".ps1", ".js", ".jar", ".apk", ".zip", ".rar", ".7z"];

    /// <summary>The extensions of <see cref="MustRefuse"/> the app's <c>file_upload_config</c> takes; none when all are refused.</summary>
    public static IReadOnlyList<string> Accepted(JsonObject getAppResponse)
    {
        var config = getAppResponse["app"]?["file_upload_config"] as JsonObject;
        var blocked = Extensions(config?["blocked_file_extensions"]);
        var allowed = Extensions(config?["allowed_file_extensions"]);
        return [.. MustRefuse.Where(e => !blocked.Contains(e) && (allowed.Count == 0 || allowed.Contains(e)))];
    }

    private static HashSet<string> Extensions(JsonNode? list) =>
        list is JsonArray array
            ? array.Select(e => e is JsonValue v && v.TryGetValue<string>(out var s) ? s.ToLowerInvariant() : null).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : [];
}
