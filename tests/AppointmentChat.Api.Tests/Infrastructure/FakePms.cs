using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// A local stand-in for a practice-management system taking transcript callbacks. It verifies each delivery the way
/// docs/transcripts.md tells a PMS to — HMAC-SHA256 over "timestamp.body" with the shared secret, compared in constant
/// time, the timestamp no more than five minutes off — and can be told to fail the first attempts, or all of them.
/// </summary>
public sealed class FakePms : IAsyncDisposable
{
    public const string Secret = "fake-pms-shared-secret-0123456789abcdef";
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<JsonObject> _filed = new();
    private readonly ConcurrentQueue<string> _refusedSignatures = new();
    private int _attempts;

    private FakePms(WebApplication app) => _app = app;

    public Uri CallbackUrl { get; private set; } = null!;

    /// <summary>The transcripts that arrived correctly signed, in order (each with the headers it came with).</summary>
    public IReadOnlyCollection<JsonObject> Filed => _filed;

    /// <summary>Deliveries whose signature did not verify.</summary>
    public IReadOnlyCollection<string> RefusedSignatures => _refusedSignatures;

    public int Attempts => _attempts;

    /// <summary>How many of the first attempts are answered 503 (int.MaxValue: every one).</summary>
    public int FailFirst { get; set; }

    public static async Task<FakePms> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var pms = new FakePms(app);
        app.MapPost("/transcripts", (Delegate)pms.ReceiveAsync);
        await app.StartAsync();
        pms.CallbackUrl = new Uri(new Uri(app.Urls.First()), "transcripts");
        return pms;
    }

    /// <summary>The service's settings for delivering <paramref name="organisationId"/>'s transcripts here.</summary>
    public Dictionary<string, string?> Settings(string organisationId) => new()
    {
        [$"Transcripts:Organisations:{organisationId}:CallbackUrl"] = CallbackUrl.ToString(),
        [$"Transcripts:Organisations:{organisationId}:Secret"] = Secret,
        ["Transcripts:FirstRetryDelay"] = "00:00:00.200",
        ["Transcripts:MaxRetryDelay"] = "00:00:00.400",
        ["Transcripts:PollInterval"] = "00:00:01",
    };

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        var attempt = Interlocked.Increment(ref _attempts);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        var timestamp = context.Request.Headers["X-AppointmentChat-Timestamp"].ToString();
        var signature = context.Request.Headers["X-AppointmentChat-Signature"].ToString();
        if (!Verifies(timestamp, signature, body))
        {
            _refusedSignatures.Enqueue(signature);
            return Results.Unauthorized();
        }

        if (attempt <= FailFirst)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        _filed.Enqueue(new JsonObject
        {
            ["delivery"] = context.Request.Headers["X-AppointmentChat-Delivery"].ToString(),
            ["event"] = context.Request.Headers["X-AppointmentChat-Event"].ToString(),
            ["contentType"] = context.Request.ContentType,
            ["transcript"] = JsonNode.Parse(body),
        });
        return Results.NoContent();
    }

    /// <summary>What a PMS does with a delivery: the signature over "timestamp.body", in constant time, and a fresh timestamp.</summary>
    public static bool Verifies(string timestamp, string signature, byte[] body)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - seconds) > 300
            || !signature.StartsWith("sha256=", StringComparison.Ordinal))
        {
            return false;
        }

        var signed = Encoding.ASCII.GetBytes(timestamp + ".").Concat(body).ToArray();
        var expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), signed)));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature["sha256=".Length..]));
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
