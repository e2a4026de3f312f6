using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AppointmentChat.Bench.Ceiling;

/// <summary>
/// Google's side of a push, for the push-latency scenario: the OAuth2 token endpoint a service account names and
/// FCM HTTP v1 <c>messages:send</c>, which answers at once and notes when each push arrived and for which message
/// (the <c>data.messageId</c> the service puts in every push). Arrival times are UTC milliseconds since the Unix
/// epoch: the runner, another process on the same machine, notes when it sent each webhook on that clock.
/// It accepts any assertion and any access token: the service's authentication to Google is tested elsewhere
/// (tests' FakeFcm); here only the time a push takes counts.
///   dotnet Ceiling.dll fake-fcm --urls http://127.0.0.1:5098
/// <c>GET /arrivals</c> lists every push received, one <c>messageId unixMs</c> line each.
/// </summary>
internal static class FakeFcm
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var arrivals = new ConcurrentQueue<(string MessageId, double UnixMs)>();
        var tokens = 0;

        app.MapGet("/health/live", () => "ok");
        app.MapPost("/token", () =>
        {
            var n = Interlocked.Increment(ref tokens);
            return Results.Json(new Dictionary<string, object> { ["access_token"] = $"bench-access-{n}", ["expires_in"] = 3600, ["token_type"] = "Bearer" });
        });
        app.MapPost("/v1/projects/{project}/messages:send", async (HttpContext http, string project) =>
        {
            // Taken before the body is read: the moment the request reached FCM.
            var arrived = UnixMs(DateTime.UtcNow);
            using var body = await JsonDocument.ParseAsync(http.Request.Body);
            var messageId = body.RootElement.TryGetProperty("message", out var message)
                && message.TryGetProperty("data", out var data)
                && data.TryGetProperty("messageId", out var id) ? id.GetString() ?? "" : "";
            arrivals.Enqueue((messageId, arrived));
            return Results.Json(new Dictionary<string, string> { ["name"] = $"projects/{project}/messages/{arrivals.Count}" });
        });
        app.MapGet("/arrivals", () =>
        {
            var lines = new StringBuilder();
            foreach (var (messageId, unixMs) in arrivals)
            {
                lines.Append(messageId).Append(' ').Append(unixMs.ToString("F3", CultureInfo.InvariantCulture)).Append('\n');
            }

            return Results.Text(lines.ToString());
        });

        await app.RunAsync();
        return 0;
    }

    private static double UnixMs(DateTime utc) => (utc - DateTime.UnixEpoch).TotalMilliseconds;
}
