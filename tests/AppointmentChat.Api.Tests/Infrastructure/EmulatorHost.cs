using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.StreamEmulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>The Stream emulator on its own Kestrel port, as a stand-in for Stream Cloud.</summary>
public sealed class EmulatorHost : IAsyncDisposable
{
    public const string ApiKey = ChatApp.StreamApiKey;
    public const string Secret = ChatApp.StreamSecret;

    private readonly WebApplication _app;

    private EmulatorHost(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
        Http = new HttpClient { BaseAddress = baseUrl };
    }

    public Uri BaseUrl { get; }

    /// <summary>A plain client for the emulator; add auth per request with <see cref="Server"/>.</summary>
    public HttpClient Http { get; }

    public EmulatorSettings Settings => _app.Services.GetRequiredService<EmulatorSettings>();

    public ChatStore Store => _app.Services.GetRequiredService<ChatStore>();

    public FaultInjector Faults => _app.Services.GetRequiredService<FaultInjector>();

    public IReadOnlyCollection<WebhookDelivery> Webhooks => _app.Services.GetRequiredService<WebhookDispatcher>().Deliveries;

    public IReadOnlyCollection<ApiCall> Calls => _app.Services.GetRequiredService<ApiCallLog>().Calls;

    /// <summary>
    /// Raises every limit the service's calls count against to <paramref name="perMinute"/>, for suites that load the
    /// service far past what Stream allows (where Stream's 429 would rightly become the service's 503) to look for
    /// something else; limits themselves are tested with the documented ones.
    /// </summary>
    public void RaiseRateLimits(int perMinute = 1_000_000) => Settings.RateLimits = LimitedEndpoints.ToDictionary(endpoint => endpoint, _ => perMinute);

    private static readonly string[] LimitedEndpoints =
        ["UpdateUsers", "UpdateUsersPartial", "QueryUsers", "UpdateChannel", "GetOrCreateChannel", "QueryChannels", "SendMessage", "DeleteChannel", "GetApp", "MarkRead", "MarkUnread", "SendEvent", "UpdateMessage", "DeleteMessage", "StopWatchingChannel"];

    /// <summary>Forgets the calls counted so far against every limit, as a new minute does.</summary>
    public void ResetRateLimitCounters() => _app.Services.GetRequiredService<RateLimitCounter>().Reset();

    public ClientConnections Connections => _app.Services.GetRequiredService<ClientConnections>();

    /// <summary>The server token Stream's SDKs would send for <see cref="Secret"/>.</summary>
    public static string ServerToken => TestJwt.Create(new JsonObject { ["server"] = true }, Secret);

    public static string UserToken(string userId, DateTimeOffset? issuedAt = null, TimeSpan? lifetime = null, string secret = Secret)
    {
        var iat = issuedAt ?? DateTimeOffset.UtcNow;
        return TestJwt.Create(new JsonObject
        {
            ["user_id"] = userId,
            ["iat"] = iat.ToUnixTimeSeconds(),
            ["exp"] = (iat + (lifetime ?? TimeSpan.FromHours(1))).ToUnixTimeSeconds(),
        }, secret);
    }

    /// <param name="time">The emulator's clock (a fake one to drive token expiry and health checks).</param>
    public static async Task<EmulatorHost> StartAsync(Action<EmulatorSettings>? configure = null, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Services.AddStreamEmulator(settings =>
        {
            settings.ApiKey = ApiKey;
            settings.ApiSecret = Secret;
            settings.WebhookRetryDelay = TimeSpan.FromMilliseconds(100);
            configure?.Invoke(settings);
        });
        var app = builder.Build();
        app.UseCors();
        app.MapStreamEmulator();
        await app.StartAsync();
        return new EmulatorHost(app, new Uri(app.Urls.First() + "/"));
    }

    /// <summary>Sends a request to the Stream API as <paramref name="token"/> would (api_key, JWT, auth type).</summary>
    public async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> CallAsync(HttpMethod method, string path, JsonObject? body = null, string? token = null, string apiKey = ApiKey)
    {
        using var request = new HttpRequestMessage(method, path + (path.Contains('?') ? "&" : "?") + "api_key=" + apiKey);
        request.Headers.TryAddWithoutValidation("Authorization", token ?? ServerToken);
        request.Headers.TryAddWithoutValidation("Stream-Auth-Type", "jwt");
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        }

        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject(), response);
    }

    public Task<(int Status, JsonObject Body, HttpResponseMessage Response)> ControlAsync(HttpMethod method, string path, object? body = null) =>
        CallAsync(method, "_emulator/" + path, body is null ? null : JsonSerializer.SerializeToNode(body, JsonSerializerOptions.Web)!.AsObject());

    /// <summary>Creates users and a channel with them as members, as the service would.</summary>
    public async Task<string> CreateChannelAsync(string channelId, string[] members, JsonObject? custom = null)
    {
        var users = new JsonObject();
        foreach (var member in members)
        {
            users[member] = new JsonObject { ["id"] = member, ["name"] = member.ToUpperInvariant() };
        }

        var (status, body, _) = await CallPacedAsync(HttpMethod.Post, "users", new JsonObject { ["users"] = users });
        Assert.True(status == 201, body.ToJsonString());
        var data = custom ?? [];
        data["created_by_id"] = members[0];
        data["members"] = new JsonArray([.. members.Select(m => (JsonNode)m)]);
        (status, body, _) = await CallPacedAsync(HttpMethod.Post, $"channels/messaging/{channelId}/query", new JsonObject { ["data"] = data });
        Assert.True(status == 201, body.ToJsonString());
        return channelId;
    }

    /// <summary>
    /// <see cref="CallAsync"/> as a well-behaved server-side script makes it: refused for a rate limit, it waits for the
    /// window's reset (X-RateLimit-Reset) and tries again. For arranging a test, never for what the test checks.
    /// </summary>
    public async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> CallPacedAsync(HttpMethod method, string path, JsonObject? body = null, string? token = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await CallAsync(method, path, body?.DeepClone().AsObject(), token);
            if (result.Status != 429 || attempt == 100)
            {
                return result;
            }

            var reset = DateTimeOffset.FromUnixTimeSeconds(long.Parse(result.Response.Headers.GetValues("X-RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture));
            var wait = reset - _app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
            await Task.Delay(wait > TimeSpan.Zero ? wait + TimeSpan.FromMilliseconds(20) : TimeSpan.FromMilliseconds(50));
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A tiny HTTP server that records what it receives and answers as told (a webhook receiver, a capture).</summary>
public sealed class RecordingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly System.Collections.Concurrent.ConcurrentQueue<Received> _received = new();

    private RecordingServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public IReadOnlyCollection<Received> Requests => _received;

    /// <summary>Status for the n-th request (1-based); default 200.</summary>
    public Func<int, int> Respond { get; set; } = _ => 200;

    public static async Task<RecordingServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new RecordingServer(app);
        app.Run(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            server._received.Enqueue(new Received(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, buffer.ToArray()));
            context.Response.StatusCode = server.Respond(server._received.Count);
            await context.Response.WriteAsync("{}");
        });
        await app.StartAsync();
        server.Url = new Uri(app.Urls.First() + "/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record Received(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body);

public static class Eventually
{
    /// <summary>Polls until <paramref name="condition"/> holds, failing with <paramref name="what"/> after the timeout.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }

            await Task.Delay(25);
        }
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }

            await Task.Delay(25);
        }
    }
}
