using System.Globalization;
using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// An app's rules for one kind of upload, as Stream's app settings carry them (<c>file_upload_config</c> and
/// <c>image_upload_config</c> of <c>GET /app</c> and <c>PATCH /app</c>; GetStream/protocol's openapi
/// <c>FileUploadConfig</c>: <c>allowed_file_extensions</c>, <c>blocked_file_extensions</c>, <c>allowed_mime_types</c>,
/// <c>blocked_mime_types</c>, <c>size_limit</c> in bytes, 0 for Stream's own limit). Empty lists allow everything:
/// Stream blocks no type by default (stream-cli <c>chat upload-file</c>: "Stream will not block any file types from
/// uploading … The maximum file size is 100MB").
/// </summary>
public sealed record UploadConfig(
    IReadOnlyList<string> AllowedFileExtensions,
    IReadOnlyList<string> BlockedFileExtensions,
    IReadOnlyList<string> AllowedMimeTypes,
    IReadOnlyList<string> BlockedMimeTypes,
    long SizeLimit)
{
    /// <summary>Stream's upload limit, and the largest <c>size_limit</c> an app may set.</summary>
    public const long MaxSizeLimit = 100L * 1024 * 1024;

    public static readonly UploadConfig Default = new([], [], [], [], 0);

    public long EffectiveSizeLimit => SizeLimit is > 0 and <= MaxSizeLimit ? SizeLimit : MaxSizeLimit;

    public JsonObject ToJson() => new()
    {
        ["allowed_file_extensions"] = Array(AllowedFileExtensions),
        ["blocked_file_extensions"] = Array(BlockedFileExtensions),
        ["allowed_mime_types"] = Array(AllowedMimeTypes),
        ["blocked_mime_types"] = Array(BlockedMimeTypes),
        ["size_limit"] = SizeLimit,
    };

    /// <summary>
    /// This config with the fields <paramref name="update"/> names replaced, as <c>PATCH /app</c> does. Extensions must
    /// start with a dot: Stream refuses the whole update otherwise ("failed on the 'startswith' tag", YosemiteCrew/Yosemite-Crew#2431).
    /// </summary>
    public UploadConfig With(string op, string field, JsonNode? update)
    {
        if (update is not JsonObject changes)
        {
            throw StreamErrorException.Input(op, $"{field} must be an object");
        }

        var sizeLimit = changes["size_limit"] is { } size ? StreamRules.Int(op, size, $"{field}.size_limit") ?? 0 : SizeLimit;
        if (sizeLimit < 0 || sizeLimit > MaxSizeLimit)
        {
            throw StreamErrorException.Input(op, $"{field}.size_limit must be between 0 and {MaxSizeLimit.ToString(CultureInfo.InvariantCulture)} bytes");
        }

        return new UploadConfig(
            List(op, field, changes, "allowed_file_extensions", AllowedFileExtensions, extension: true),
            List(op, field, changes, "blocked_file_extensions", BlockedFileExtensions, extension: true),
            List(op, field, changes, "allowed_mime_types", AllowedMimeTypes, extension: false),
            List(op, field, changes, "blocked_mime_types", BlockedMimeTypes, extension: false),
            sizeLimit);
    }

    /// <summary>Why an upload of <paramref name="fileName"/> as <paramref name="mimeType"/> is refused, or null when it is not.</summary>
    public string? Refusal(string fileName, string mimeType)
    {
        var extension = Path.GetExtension(fileName).ToLowerInvariant();
        if (BlockedFileExtensions.Contains(extension, StringComparer.OrdinalIgnoreCase)
            || (AllowedFileExtensions.Count > 0 && !AllowedFileExtensions.Contains(extension, StringComparer.OrdinalIgnoreCase)))
        {
            return $"File extension {(extension.Length > 0 ? extension : "(none)")} is not allowed";
        }

        if (BlockedMimeTypes.Any(t => MimeMatches(t, mimeType)) || (AllowedMimeTypes.Count > 0 && !AllowedMimeTypes.Any(t => MimeMatches(t, mimeType))))
        {
            return $"File type {mimeType} is not allowed";
        }

        return null;
    }

    /// <summary>An exact type, or a family such as <c>application/*</c>.</summary>
    private static bool MimeMatches(string pattern, string mimeType) =>
        pattern.EndsWith("/*", StringComparison.Ordinal)
            ? mimeType.StartsWith(pattern[..^1], StringComparison.OrdinalIgnoreCase)
            : string.Equals(pattern, mimeType, StringComparison.OrdinalIgnoreCase);

    private static List<string> List(string op, string field, JsonObject changes, string name, IReadOnlyList<string> current, bool extension)
    {
        if (!changes.TryGetPropertyValue(name, out var node))
        {
            return [.. current];
        }

        if (node is null)
        {
            return [];
        }

        if (node is not JsonArray array)
        {
            throw StreamErrorException.Input(op, $"{field}.{name} must be an array of strings");
        }

        var values = new List<string>();
        for (var i = 0; i < array.Count; i++)
        {
            var value = array[i] is JsonValue item && item.TryGetValue<string>(out var text) ? text : null;
            if (string.IsNullOrWhiteSpace(value) || (extension && !value.StartsWith('.')))
            {
                throw StreamErrorException.Input(op, $"{field}.{name}[{i}] must be {(extension ? "an extension starting with '.'" : "a MIME type")}: failed on the '{(extension ? "startswith" : "required")}' tag");
            }

            values.Add(value.ToLowerInvariant());
        }

        return values;
    }

    private static JsonArray Array(IReadOnlyList<string> values) => new([.. values.Select(v => (JsonNode)v)]);
}
