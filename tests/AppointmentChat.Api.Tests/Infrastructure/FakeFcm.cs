using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// A local stand-in for Google: the OAuth2 token endpoint (it checks the service account's signed JWT
/// assertion) and FCM HTTP v1 <c>messages:send</c>. Device tokens script the answer: <c>unregistered-…</c>
/// gets 404 UNREGISTERED, <c>gone-…</c> a bare 404, <c>flaky-…</c> a 503 the first time, <c>bad-…</c> 400.
/// </summary>
public sealed class FakeFcm : IAsyncDisposable
{
    public const string ProjectId = "test-project";
    private readonly WebApplication _app;
    private readonly RSA _key = RSA.Create(2048);
    private readonly ConcurrentQueue<JsonObject> _sent = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new();
    private int _tokensIssued;

    private FakeFcm(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public string ServiceAccountFile { get; private set; } = null!;

    /// <summary>Every message FCM accepted, in order.</summary>
    public IReadOnlyCollection<JsonObject> Delivered => _sent;

    /// <summary>Every send attempt per device token (accepted or not).</summary>
    public IReadOnlyDictionary<string, int> Attempts => _attempts;

    public int TokensIssued => _tokensIssued;

    /// <summary>Device tokens FCM answers 503 UNAVAILABLE for, until they are taken out again.</summary>
    public ConcurrentDictionary<string, bool> Unavailable { get; } = new();

    public static async Task<FakeFcm> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fcm = new FakeFcm(app);
        app.MapPost("/token", (Delegate)fcm.IssueTokenAsync);
        app.MapPost("/v1/projects/{project}/messages:send", (Delegate)fcm.SendAsync);
        await app.StartAsync();
        fcm.BaseUrl = new Uri(app.Urls.First());
        fcm.ServiceAccountFile = Path.Combine(Directory.CreateTempSubdirectory("fake-fcm-").FullName, "service-account.json");
        await File.WriteAllTextAsync(fcm.ServiceAccountFile, new JsonObject
        {
            ["type"] = "service_account",
            ["project_id"] = ProjectId,
            ["private_key_id"] = "test-key-1",
            ["private_key"] = fcm._key.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = "push@test-project.iam.gserviceaccount.com",
            ["client_id"] = "1234567890",
            ["token_uri"] = new Uri(fcm.BaseUrl, "token").ToString(),
        }.ToJsonString());
        return fcm;
    }

    /// <summary>The service's settings for pushing through this fake.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["Push:Fcm:ProjectId"] = ProjectId,
        ["Push:Fcm:ServiceAccountFile"] = ServiceAccountFile,
        ["Push:Fcm:BaseUrl"] = BaseUrl.ToString(),
        ["Push:FirstRetryDelay"] = "00:00:00.200",
        ["Push:PollInterval"] = "00:00:01",
    };

    public IEnumerable<JsonObject> DeliveredTo(string token) =>
        _sent.Where(m => m["message"]!["token"]!.GetValue<string>() == token);

    private async Task<IResult> IssueTokenAsync(HttpContext http)
    {
        var form = await http.Request.ReadFormAsync();
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" || !IsSignedByServiceAccount(form["assertion"].ToString()))
        {
            return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
        }

        var n = Interlocked.Increment(ref _tokensIssued);
        return Results.Json(new { access_token = $"fake-access-{n}", expires_in = 3600, token_type = "Bearer" });
    }

    private bool IsSignedByServiceAccount(string assertion)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }

        var claims = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!;
        return _key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            && claims["iss"]?.GetValue<string>() == "push@test-project.iam.gserviceaccount.com"
            && claims["scope"]?.GetValue<string>()?.Contains("firebase.messaging", StringComparison.Ordinal) == true;
    }

    private async Task<IResult> SendAsync(HttpContext http, string project)
    {
        if (!http.Request.Headers.Authorization.ToString().StartsWith("Bearer fake-access-", StringComparison.Ordinal) || project != ProjectId)
        {
            return Results.Json(new { error = new { code = 401, status = "UNAUTHENTICATED" } }, statusCode: 401);
        }

        var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
        var token = body["message"]!["token"]!.GetValue<string>();
        var attempt = _attempts.AddOrUpdate(token, 1, (_, n) => n + 1);
        if (token.StartsWith("unregistered-", StringComparison.Ordinal))
        {
            return Results.Json(FcmError(404, "NOT_FOUND", "UNREGISTERED"), statusCode: 404);
        }

        if (token.StartsWith("gone-", StringComparison.Ordinal))
        {
            return Results.Json(new { error = new { code = 404, status = "NOT_FOUND" } }, statusCode: 404);
        }

        if (token.StartsWith("bad-", StringComparison.Ordinal))
        {
            return Results.Json(FcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), statusCode: 400);
        }

        if (Unavailable.ContainsKey(token) || (token.StartsWith("flaky-", StringComparison.Ordinal) && attempt == 1))
        {
            return Results.Json(FcmError(503, "UNAVAILABLE", "UNAVAILABLE"), statusCode: 503);
        }

        _sent.Enqueue(body);
        return Results.Json(new { name = $"projects/{ProjectId}/messages/{Guid.NewGuid():N}" });
    }

    private static object FcmError(int code, string status, string errorCode) => new
    {
        error = new
        {
            code,
            status,
            message = errorCode,
            details = new object[] { new Dictionary<string, string> { ["@type"] = "type.googleapis.com/google.firebase.fcm.v1.FcmError", ["errorCode"] = errorCode } },
        },
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Dispose();
    }
}

/// <summary>Signs webhook bodies as Stream does.</summary>
public static class StreamWebhook
{
    public static string Sign(byte[] body, string secret = ChatApp.StreamSecret) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static HttpRequestMessage Request(string body, string? webhookId = null, string? signature = null, string? apiKey = ChatApp.StreamApiKey)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/stream") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-Signature", signature ?? Sign(bytes));
        if (webhookId is not null)
        {
            request.Headers.Add("X-Webhook-Id", webhookId);
            request.Headers.Add("X-Webhook-Attempt", "1");
        }

        if (apiKey is not null)
        {
            request.Headers.Add("X-Api-Key", apiKey);
        }

        return request;
    }

    /// <summary>A <c>message.new</c> webhook; the message sent at <paramref name="createdAt"/> (Stream's time, to the microsecond), or now.</summary>
    public static string MessageNew(string channelId, string senderId, string text, string? messageId = null, string[]? members = null, bool attachmentOnly = false, DateTimeOffset? createdAt = null) => new JsonObject
    {
        ["type"] = "message.new",
        ["cid"] = "messaging:" + channelId,
        ["channel_id"] = channelId,
        ["channel_type"] = "messaging",
        ["message_id"] = messageId ?? Guid.NewGuid().ToString(),
        ["message"] = new JsonObject
        {
            ["id"] = messageId ?? Guid.NewGuid().ToString(),
            ["text"] = attachmentOnly ? "" : text,
            ["type"] = "regular",
            ["user"] = new JsonObject { ["id"] = senderId, ["name"] = senderId.ToUpperInvariant() },
            ["attachments"] = attachmentOnly ? new JsonArray(new JsonObject { ["type"] = "image", ["image_url"] = "https://example.com/x.png" }) : new JsonArray(),
            ["created_at"] = (createdAt ?? DateTimeOffset.UtcNow).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        },
        ["user"] = new JsonObject { ["id"] = senderId },
        ["members"] = new JsonArray([.. (members ?? []).Select(m => (JsonNode)new JsonObject { ["user_id"] = m })]),
        ["created_at"] = DateTimeOffset.UtcNow.ToString("O"),
    }.ToJsonString();
}
