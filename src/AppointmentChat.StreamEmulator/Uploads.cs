using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.StaticFiles;

namespace AppointmentChat.StreamEmulator;

/// <summary>A file a member uploaded to a channel, served back by its URL.</summary>
public sealed record StoredUpload(string Id, string Cid, string UserId, string FileName, string ContentType, byte[] Bytes, DateTimeOffset At);

/// <summary>
/// Stream's channel uploads (file_uploads.md; stream-chat-js <c>Channel.sendFile</c>/<c>sendImage</c> →
/// <c>StreamChat.sendFile</c>): <c>POST /channels/{type}/{id}/file</c> and <c>/image</c>, a multipart form whose part
/// <c>file</c> holds the bytes (with its name and type) and, for a server-side call, a part <c>user</c> naming the
/// uploader as JSON (stream-chat-go <c>SendFileRequest.User</c>). The answer is <c>{ file, thumb_url }</c>
/// (GetStream/protocol openapi <c>UploadChannelResponse</c>/<c>FileUploadResponse</c>): the URL the bytes are served
/// from, here <c>GET {emulator}/uploads/{id}/{name}</c> in place of Stream's CDN. The app's
/// <see cref="UploadConfig"/>s decide which types and sizes are taken. With a state file (<see cref="EmulatorSettings.StateFile"/>)
/// the uploads and the upload settings are kept beside it, in the folder <c>{state file}.uploads</c> (each upload's bytes
/// and a line of JSON about it), so a restart keeps the photos a chat links to, as Stream's CDN does; without one they
/// live in memory. The oldest are forgotten beyond <see cref="MaxStoredBytes"/>.
/// </summary>
public sealed class UploadStore
{
    /// <summary>What the emulator keeps before it forgets the oldest uploads.</summary>
    public const long MaxStoredBytes = 512L * 1024 * 1024;

    /// <summary>
    /// The image types Stream's image endpoint takes (file_uploads.md: BMP, GIF, JPEG, PNG, WebP, HEIC, HEIC-sequence,
    /// HEIF, HEIF-sequence, SVG+XML); anything else goes to the file endpoint.
    /// </summary>
    public static readonly HashSet<string> ImageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "image/bmp", "image/gif", "image/jpeg", "image/png", "image/webp", "image/heic", "image/heic-sequence", "image/heif", "image/heif-sequence", "image/svg+xml",
    };

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();
    private readonly ConcurrentDictionary<string, StoredUpload> _uploads = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private long _storedBytes;
    private readonly string? _folder;

    public UploadStore(EmulatorSettings settings)
    {
        _folder = settings.StateFile is { } state ? state + ".uploads" : null;
        if (_folder is not null && Directory.Exists(_folder))
        {
            Load(_folder);
        }
    }

    public UploadConfig FileConfig { get; set; } = UploadConfig.Default;

    public UploadConfig ImageConfig { get; set; } = UploadConfig.Default;

    public StoredUpload? Find(string id) => _uploads.GetValueOrDefault(id);

    public void Reset()
    {
        _uploads.Clear();
        _order.Clear();
        Interlocked.Exchange(ref _storedBytes, 0);
        FileConfig = UploadConfig.Default;
        ImageConfig = UploadConfig.Default;
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>The app settings' upload part, for <c>GET /app</c>.</summary>
    public void WriteSettings(JsonObject app)
    {
        app["file_upload_config"] = FileConfig.ToJson();
        app["image_upload_config"] = ImageConfig.ToJson();
    }

    /// <summary><c>PATCH /app</c>: both configs are checked before either changes.</summary>
    public JsonObject UpdateSettings(StreamCaller caller, JsonObject body)
    {
        const string op = "UpdateApp";
        StreamRules.RequireServer(op, caller);
        var file = body.ContainsKey("file_upload_config") ? FileConfig.With(op, "file_upload_config", body["file_upload_config"]) : FileConfig;
        var image = body.ContainsKey("image_upload_config") ? ImageConfig.With(op, "image_upload_config", body["image_upload_config"]) : ImageConfig;
        (FileConfig, ImageConfig) = (file, image);
        if (_folder is not null)
        {
            var settings = new JsonObject();
            WriteSettings(settings);
            WriteFile(Path.Combine(_folder, SettingsFile), System.Text.Encoding.UTF8.GetBytes(settings.ToJsonString()));
        }

        return [];
    }

    /// <summary>Reads the form and keeps the file, if the caller may upload to the channel and the app's config takes it.</summary>
    public async Task<JsonObject> UploadAsync(HttpContext http, StreamCaller caller, ChatStore store, string type, string id, bool image, TimeProvider time)
    {
        var op = image ? "UploadImage" : "UploadFile";
        StreamRules.RequireChannelAddress(op, type, id);
        var config = image ? ImageConfig : FileConfig;
        var limit = config.EffectiveSizeLimit;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = UploadConfig.MaxSizeLimit + (1024 * 1024); // room for the form's own parts
        }

        if (!http.Request.HasFormContentType)
        {
            throw StreamErrorException.Input(op, "the request must be a multipart form with a 'file' part");
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var file = form.Files["file"] ?? throw StreamErrorException.Input(op, "file is a required field");
        var namedUser = form["user"].ToString() is { Length: > 0 } user ? (JsonNode.Parse(user) as JsonObject)?["id"] : null;
        var uploader = store.Uploader(op, caller, type, id, namedUser);

        if (file.Length > limit)
        {
            throw new StreamErrorException(413, StreamCodes.PayloadTooBig, $"{op} failed with error: \"file is {file.Length} bytes, more than the size limit of {limit} bytes\"");
        }

        var fileName = Path.GetFileName(file.FileName is { Length: > 0 } name ? name : "file");
        var contentType = ContentTypeOf(file, fileName);
        if (image && !ImageTypes.Contains(contentType))
        {
            throw StreamErrorException.Input(op, $"File type {contentType} is not an image type the image endpoint takes");
        }

        if (config.Refusal(fileName, contentType) is { } refusal)
        {
            throw StreamErrorException.Input(op, refusal);
        }

        using var bytes = new MemoryStream();
        await file.CopyToAsync(bytes, http.RequestAborted);
        var stored = new StoredUpload(Guid.NewGuid().ToString("N"), $"{type}:{id}", uploader, fileName, contentType, bytes.ToArray(), time.GetUtcNow());
        Keep(stored);

        var url = $"{Root(http, type, id)}/uploads/{stored.Id}/{Uri.EscapeDataString(fileName)}";
        var answer = new JsonObject { ["file"] = url };
        if (image)
        {
            answer["thumb_url"] = url; // Stream's CDN resizes on request; the emulator serves the original
        }

        return answer;
    }

    /// <summary>The part's declared type, or the one its name implies when it declares none that says anything.</summary>
    private static string ContentTypeOf(IFormFile file, string fileName) =>
        file.ContentType is { Length: > 0 } declared && !declared.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase) && !declared.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase)
            ? declared.Split(';')[0].Trim().ToLowerInvariant()
            : ContentTypes.TryGetContentType(fileName, out var implied) ? implied : "application/octet-stream";

    /// <summary>The emulator's base URL as this request reached it (it may be mounted under a prefix).</summary>
    private static string Root(HttpContext http, string type, string id)
    {
        var path = http.Request.PathBase + http.Request.Path;
        var channelPath = path.Value!.LastIndexOf($"/channels/{type}/{id}/", StringComparison.Ordinal);
        return $"{http.Request.Scheme}://{http.Request.Host}{path.Value[..channelPath]}";
    }

    private void Keep(StoredUpload upload, bool write = true)
    {
        if (write && _folder is not null)
        {
            WriteFile(Path.Combine(_folder, upload.Id + ".bin"), upload.Bytes);
            var about = new JsonObject
            {
                ["id"] = upload.Id, ["cid"] = upload.Cid, ["user_id"] = upload.UserId, ["file_name"] = upload.FileName,
                ["content_type"] = upload.ContentType, ["created_at"] = upload.At,
            };
            WriteFile(Path.Combine(_folder, upload.Id + ".json"), System.Text.Encoding.UTF8.GetBytes(about.ToJsonString()));
        }

        _uploads[upload.Id] = upload;
        _order.Enqueue(upload.Id);
        var total = Interlocked.Add(ref _storedBytes, upload.Bytes.Length);
        while (total > MaxStoredBytes && _order.TryDequeue(out var oldest))
        {
            if (_uploads.TryRemove(oldest, out var forgotten))
            {
                total = Interlocked.Add(ref _storedBytes, -forgotten.Bytes.Length);
                if (_folder is not null)
                {
                    File.Delete(Path.Combine(_folder, oldest + ".json"));
                    File.Delete(Path.Combine(_folder, oldest + ".bin"));
                }
            }
        }
    }

    private const string SettingsFile = "settings.json";

    /// <summary>Reads what an earlier run kept: the upload settings, then the uploads, oldest first; an entry it cannot read is left out.</summary>
    private void Load(string folder)
    {
        var settingsPath = Path.Combine(folder, SettingsFile);
        if (File.Exists(settingsPath) && JsonNode.Parse(File.ReadAllText(settingsPath)) is JsonObject settings)
        {
            FileConfig = UploadConfig.Default.With("Load", "file_upload_config", settings["file_upload_config"]);
            ImageConfig = UploadConfig.Default.With("Load", "image_upload_config", settings["image_upload_config"]);
        }

        var kept = new List<StoredUpload>();
        foreach (var about in Directory.EnumerateFiles(folder, "*.json").Where(f => Path.GetFileName(f) != SettingsFile))
        {
            try
            {
                if (JsonNode.Parse(File.ReadAllText(about)) is JsonObject meta
                    && Text(meta, "id") is { } id && Text(meta, "cid") is { } cid && Text(meta, "user_id") is { } user
                    && Text(meta, "file_name") is { } name && Text(meta, "content_type") is { } type
                    && DateTimeOffset.TryParse(Text(meta, "created_at"), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var at))
                {
                    kept.Add(new StoredUpload(id, cid, user, name, type, File.ReadAllBytes(Path.Combine(folder, id + ".bin")), at));
                }
            }
            catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
            {
                // half-written by a crash: the upload is lost, as an upload whose answer never came
            }
        }

        foreach (var upload in kept.OrderBy(u => u.At))
        {
            Keep(upload, write: false);
        }
    }

    private static string? Text(JsonObject meta, string name) => meta[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>Writes a file whole or not at all (a temporary file, then a rename).</summary>
    private static void WriteFile(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }
}
