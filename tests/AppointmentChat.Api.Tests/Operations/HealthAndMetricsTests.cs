using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.Api.Webhooks;
using AppointmentChat.StreamEmulator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace AppointmentChat.Api.Tests.Operations;

public sealed class HealthTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(ChatApp app, string path = "/health/ready")
    {
        var response = await app.AnonymousClient().GetAsync(path);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(ChatApp app) => GetAsync(app);

    private static Task<(HttpStatusCode Status, JsonElement Body)> DependenciesAsync(ChatApp app) => GetAsync(app, "/health/dependencies");

    private static string CheckStatus(JsonElement body, string check) => body.GetProperty("checks").GetProperty(check).GetProperty("status").GetString()!;

    private static string[] CheckNames(JsonElement body) => [.. body.GetProperty("checks").EnumerateObject().Select(c => c.Name).Order()];

    private static int GetAppCalls(EmulatorHost emulator) => emulator.Calls.Count(call => call.Endpoint == "GetApp");

    [Fact]
    public async Task LiveAnswersWithoutAuthenticationWhileTheProcessRuns()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite);

        var live = await app.AnonymousClient().GetAsync("/health/live");

        var body = await live.ShouldBeOkJsonAsync();
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ReadyStaysHealthyWhileStreamFailsAndDependenciesReportStreamDegradedUntilItReturns()
    {
        await using var stack = await ServiceWithEmulator.StartAsync(settings: new Dictionary<string, string?> { ["Health:DependencyCheckInterval"] = "00:00:00.200" });
        var (dependenciesStatus, dependencies) = await DependenciesAsync(stack.App);
        Assert.Equal(HttpStatusCode.OK, dependenciesStatus);
        Assert.Equal(["backlog", "redis", "stream"], CheckNames(dependencies));
        Assert.Equal("Healthy", dependencies.GetProperty("status").GetString());

        stack.Emulator.Faults.Add(new FaultRule { Status = 503, PathContains = "/app", Times = 0 });
        await Task.Delay(300); // past the interval: the next ask checks Stream again
        var (ready, readyBody) = await ReadyAsync(stack.App);
        Assert.Equal(HttpStatusCode.OK, ready);
        Assert.Equal(["database"], CheckNames(readyBody));
        (dependenciesStatus, dependencies) = await DependenciesAsync(stack.App);
        Assert.Equal(HttpStatusCode.OK, dependenciesStatus);
        Assert.Equal("Degraded", dependencies.GetProperty("status").GetString());
        Assert.Equal("Degraded", CheckStatus(dependencies, "stream"));
        Assert.Equal(0, RedisOutageTests.Gauge(stack.App, "chat.dependency.up", "stream"));

        stack.Emulator.Faults.Clear();
        await Eventually.TrueAsync(async () => CheckStatus((await DependenciesAsync(stack.App)).Body, "stream") == "Healthy", "Stream healthy again");
        Assert.Equal(1, RedisOutageTests.Gauge(stack.App, "chat.dependency.up", "stream"));
    }

    [Fact]
    public async Task StreamIsAskedOncePerIntervalHoweverOftenTheInstanceIsProbed()
    {
        await using var stack = await ServiceWithEmulator.StartAsync();
        var calls = GetAppCalls(stack.Emulator);

        for (var i = 0; i < 20; i++)
        {
            await Task.WhenAll(ReadyAsync(stack.App), DependenciesAsync(stack.App), DependenciesAsync(stack.App));
        }

        Assert.Equal(calls + 1, GetAppCalls(stack.Emulator));
    }

    [Fact]
    public async Task ABacklogOverTheThresholdIsDegradedAndLeavesTheInstanceReady()
    {
        await using var stack = await ServiceWithEmulator.StartAsync(DatabaseKind.Sqlite,
            new Dictionary<string, string?> { ["Health:BacklogThreshold"] = "00:00:01", ["Health:DependencyCheckInterval"] = "00:00:00.200" },
            services => services.RemoveWorkers(typeof(WebhookProcessor)));
        var app = stack.App;
        await (await app.AnonymousClient().SendAsync(StreamWebhook.Request("""{"type":"custom.event"}""", Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        await Task.Delay(1500);

        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(app)).Status);
        var (status, body) = await DependenciesAsync(app);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", CheckStatus(body, "backlog"));
        Assert.Contains("1 webhook(s)", body.GetProperty("checks").GetProperty("backlog").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, RedisOutageTests.Gauge(app, "chat.backlog.stuck", "webhooks"));

        // What the processor (left out here) does: process it.
        await app.InDatabaseAsync(db => db.InboxEvents.ExecuteUpdateAsync(set => set.SetProperty(e => e.Status, InboxStatus.Processed)));
        await Eventually.TrueAsync(async () => CheckStatus((await DependenciesAsync(app)).Body, "backlog") == "Healthy", "the backlog healthy again");
    }

    [Fact]
    public async Task ReadyTurnsUnhealthyWhilePostgresRefusesConnectionsAndHealthyAfter()
    {
        await TestDatabase.RequirePostgresAsync();
        await using var stack = await ServiceWithEmulator.StartAsync(DatabaseKind.Postgres);
        var app = stack.App;
        var database = new NpgsqlConnectionStringBuilder(app.Database.DatabaseUrl).Database!;
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(app)).Status);

        await AdminAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}';");
        try
        {
            var (down, body) = await ReadyAsync(app);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down);
            Assert.Equal("Unhealthy", CheckStatus(body, "database"));
            Assert.Equal(HttpStatusCode.OK, (await DependenciesAsync(app)).Status); // Degraded at worst: the database is readiness's news
        }
        finally
        {
            await AdminAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true;");
        }

        await Eventually.TrueAsync(async () => (await ReadyAsync(app)).Status == HttpStatusCode.OK, "ready again once PostgreSQL takes connections");
    }

    private static async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(TestDatabase.ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// Counters live in meters named alike in every app of the test process, and each app's exporter reads them all,
/// so these tests count exactly only while no other test issues tokens: they run on their own.
/// </summary>
[CollectionDefinition(nameof(ProcessWideMetrics), DisableParallelization = true)]
public sealed class ProcessWideMetrics;

[Collection(nameof(ProcessWideMetrics))]
public sealed class MetricsTests
{
    [Fact]
    public async Task PrometheusTextShowsTheServicesOwnCountersInDevelopment()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite);
        var client = app.ClientFor("vet-1", "vet");
        await client.PostJsonAsync("/api/chat/token", new { });
        await client.PostJsonAsync("/api/chat/token", new { });
        await app.AnonymousClient().SendAsync(StreamWebhook.Request("""{"type":"custom.event"}""", Guid.NewGuid().ToString()));
        await app.AnonymousClient().SendAsync(StreamWebhook.Request("""{"type":"custom.event"}""", signature: new string('0', 64)));

        string text = "";
        await Eventually.TrueAsync(async () =>
        {
            text = await (await app.AnonymousClient().GetAsync("/metrics")).Content.ReadAsStringAsync();
            return text.Contains("chat_tokens_issued_total", StringComparison.Ordinal);
        }, "the counters at /metrics");

        Assert.Matches(@"chat_tokens_issued_total(\{[^}]*\})? 2", text);
        Assert.Contains("chat_webhooks_received_total", text, StringComparison.Ordinal);
        Assert.Contains("chat_webhooks_rejected_total", text, StringComparison.Ordinal);
        Assert.Contains("chat_inbox_lag_seconds", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OutsideDevelopmentMetricsAreServedOnlyWhenSwitchedOn()
    {
        await using var off = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        await using var on = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Telemetry:Prometheus"] = "true" });

        Assert.NotEqual(HttpStatusCode.OK, (await off.AnonymousClient().GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await on.AnonymousClient().GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task OutsideDevelopmentNothingIsMeasuredWhileNoExporterIsSwitchedOn()
    {
        await using (var off = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" }))
        {
            await off.ClientFor("vet-1", "vet").PostJsonAsync("/api/chat/token", new { });

            var instruments = InstrumentsOf(off);
            Assert.Contains(instruments, i => i.Name == "http.server.request.duration");
            Assert.Contains(instruments, i => i.Name == "chat.tokens.issued");
            Assert.All(instruments, i => Assert.False(i.Enabled, $"{i.Meter.Name} {i.Name} is listened to"));
        }

        await using var on = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Telemetry:Prometheus"] = "true" });
        await on.ClientFor("vet-1", "vet").PostJsonAsync("/api/chat/token", new { });

        var measured = InstrumentsOf(on);
        Assert.True(measured.Single(i => i.Name == "http.server.request.duration").Enabled);
        Assert.True(measured.Single(i => i.Name == "chat.tokens.issued").Enabled);
    }

    /// <summary>The instruments of this app's own meters (its meter factory is their scope).</summary>
    private static List<Instrument> InstrumentsOf(ChatApp app)
    {
        var factory = app.Services.GetRequiredService<IMeterFactory>();
        var found = new List<Instrument>();
        using var listener = new MeterListener
        {
            // Only looks: never enables an instrument, so Enabled says whether the app's own providers listen.
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    found.Add(instrument);
                }
            },
        };
        listener.Start();
        return found;
    }
}

/// <summary>Token limits with REDIS_URL hold across instances; without it each instance counts alone.</summary>
public sealed class SharedRateLimitTests
{
    private static Dictionary<string, string?> Limit(string? redis) => new()
    {
        ["RateLimiting:Token:PermitLimit"] = "3",
        ["RateLimiting:Token:WindowSeconds"] = "60",
        ["REDIS_URL"] = redis,
    };

    private static async Task<int> AllowedAsync(IEnumerable<HttpClient> clients, int calls)
    {
        var allowed = 0;
        var all = clients.ToList();
        for (var i = 0; i < calls; i++)
        {
            var response = await all[i % all.Count].PostJsonAsync("/api/chat/token", new { });
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, response.StatusCode.ToString());
            allowed += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        return allowed;
    }

    [Fact]
    public async Task WithRedisTwoInstancesShareOneBudgetPerUser()
    {
        await RedisServer.RequireAsync();
        await using var first = await ChatApp.StartAsync(DatabaseKind.Sqlite, Limit(RedisServer.Url));
        await using var second = await ChatApp.StartAsync(DatabaseKind.Sqlite, Limit(RedisServer.Url));
        var user = Ids.New("owner");
        // The start does not wait for Redis: until the first connect ends, each instance limits on its own.
        await Eventually.TrueAsync(() => new[] { first, second }.All(app => app.Logs.Lines.Any(l => l.Message.Contains("shared across instances through Redis (connected)", StringComparison.Ordinal))),
            "both instances connected to Redis");

        Assert.Equal(3, await AllowedAsync([first.ClientFor(user), second.ClientFor(user)], 8));
        Assert.Single(first.Logs.Lines, l => l.Message.Contains("shared across instances through Redis (connected)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutRedisEachInstanceLimitsOnItsOwn()
    {
        await using var first = await ChatApp.StartAsync(DatabaseKind.Sqlite, Limit(null));
        await using var second = await ChatApp.StartAsync(DatabaseKind.Sqlite, Limit(null));
        var user = Ids.New("owner");

        Assert.Equal(6, await AllowedAsync([first.ClientFor(user), second.ClientFor(user)], 10));
    }

    [Fact]
    public async Task WhenRedisDoesNotAnswerTheInstanceLimitsLocallyAndNeverFails()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, Limit("redis://127.0.0.1:1"));
        var user = Ids.New("owner");

        Assert.Equal(3, await AllowedAsync([app.ClientFor(user)], 5));
        await Eventually.TrueAsync(() => app.Logs.Lines.Any(l => l.Message.Contains("this instance's own limit applies", StringComparison.Ordinal)), "a log line saying limits are local");
    }
}
