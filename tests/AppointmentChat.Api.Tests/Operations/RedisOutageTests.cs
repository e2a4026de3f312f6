using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>
/// REDIS_URL set and Redis stopped, hung or unreachable: token requests answer at once (no wait on Redis), limited
/// per instance, Redis is reported Degraded at /health/dependencies and 0 in chat.dependency.up, and limits are shared
/// again once Redis is back.
/// </summary>
public sealed class RedisOutageTests(ITestOutputHelper output)
{
    private const int Requests = 200;

    /// <summary>Generous for a loaded 2-core CI machine; a request that waited on Redis would add seconds.</summary>
    private static readonly TimeSpan AddedP99Bound = TimeSpan.FromMilliseconds(50);

    private static Dictionary<string, string?> Settings(string? redis) => new()
    {
        ["RateLimiting:Token:PermitLimit"] = "3",
        ["RateLimiting:Token:WindowSeconds"] = "60",
        ["REDIS_URL"] = redis,
    };

    [Fact]
    public async Task WhileRedisIsStoppedTokensAnswerAtOnceLimitedPerInstanceAndSharedAgainWhenItReturns()
    {
        await using var redis = await OwnRedis.StartAsync();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, Settings(redis.Url));
        await Eventually.TrueAsync(() => app.Logs.Lines.Any(l => l.Message.Contains("through Redis (connected)", StringComparison.Ordinal)), "connected to Redis");
        var shared = Ids.New("owner");
        Assert.Equal(3, await AllowedAsync(app, shared, 5));
        Assert.True(await redis.HasKeyAsync("appointment-chat:rate:token:user:" + shared), "the bucket lives in Redis");

        redis.Stop();
        await AssertFastAndLocalAsync(app, "stopped");

        await redis.StartAgainAsync();
        var again = Ids.New("owner");
        await Eventually.TrueAsync(async () =>
        {
            await app.ClientFor(Ids.New("owner")).PostJsonAsync("/api/chat/token", new { }); // the breaker tries Redis on a request
            return await DependencyAsync(app, "redis") == "Healthy";
        }, "Redis shared again", TimeSpan.FromSeconds(40));
        Assert.Equal(1, await AllowedAsync(app, again, 1));
        Assert.True(await redis.HasKeyAsync("appointment-chat:rate:token:user:" + again), "limits are kept in Redis again");
        Assert.Equal(1, Gauge(app, "chat.dependency.up", "redis"));
    }

    [Fact]
    public async Task WhileRedisHangsTokensAnswerAtOnceLimitedPerInstance()
    {
        using var hung = new SilentListener();
        await using (await ChatApp.StartAsync(DatabaseKind.Sqlite, Settings(null)))
        {
            // Once, so the starts timed below are not the test process's first.
        }

        var started = Stopwatch.StartNew();
        await using (await ChatApp.StartAsync(DatabaseKind.Sqlite, Settings(null)))
        {
            started.Stop();
        }

        var withoutRedis = started.Elapsed;
        started.Restart();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, Settings($"redis://127.0.0.1:{hung.Port}"));
        var withHungRedis = started.Elapsed;
        output.WriteLine($"started in {withHungRedis.TotalMilliseconds:F0} ms (without Redis {withoutRedis.TotalMilliseconds:F0} ms)");
        Assert.True(withHungRedis - withoutRedis < TimeSpan.FromSeconds(1.5), "the start does not wait for Redis");

        await AssertFastAndLocalAsync(app, "hung");
    }

    [Fact]
    public async Task WhenRedisIsUnreachableFromTheStartTokensAnswerAtOnceLimitedPerInstance()
    {
        var started = Stopwatch.StartNew();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, Settings($"redis://127.0.0.1:{FreePort.Next()}"));
        output.WriteLine($"started in {started.ElapsedMilliseconds} ms");

        await AssertFastAndLocalAsync(app, "unreachable");
        await Eventually.TrueAsync(() => app.Logs.Lines.Any(l => l.Message.Contains("this instance's own limit applies", StringComparison.Ordinal)), "a log line saying limits are local");
    }

    /// <summary>
    /// Token requests answer as fast as on an instance without Redis (p99 of <see cref="Requests"/> requests from fresh
    /// callers, the first ones after the outage included), a caller is limited by this instance alone, and Redis
    /// shows as Degraded and down.
    /// </summary>
    private async Task AssertFastAndLocalAsync(ChatApp app, string outage)
    {
        await using var baseline = await ChatApp.StartAsync(DatabaseKind.Sqlite, Settings(null));
        await WarmUpAsync(baseline);
        await WarmUpAsync(app);

        var local = await LatenciesAsync(baseline);
        var down = await LatenciesAsync(app);
        var added = P99(down) - P99(local);
        output.WriteLine($"Redis {outage}: p99 {P99(down).TotalMilliseconds:F2} ms, max {down[^1].TotalMilliseconds:F2} ms; without Redis: p99 {P99(local).TotalMilliseconds:F2} ms; added at p99: {added.TotalMilliseconds:F2} ms");
        Assert.True(added < AddedP99Bound, $"Redis {outage} added {added.TotalMilliseconds:F1} ms at p99 (bound {AddedP99Bound.TotalMilliseconds} ms)");

        Assert.Equal(3, await AllowedAsync(app, Ids.New("owner"), 5));
        Assert.Equal("Degraded", await DependencyAsync(app, "redis"));
        Assert.Equal(0, Gauge(app, "chat.dependency.up", "redis"));
        Assert.Equal(HttpStatusCode.OK, (await app.AnonymousClient().GetAsync("/health/ready")).StatusCode);
    }

    /// <summary>Runs authentication and the endpoint once, so the measured requests time the limiter rather than the JIT.</summary>
    private static async Task WarmUpAsync(ChatApp app)
    {
        for (var i = 0; i < 3; i++)
        {
            await app.ClientFor(Ids.New("vet"), "vet").GetAsync("/api/chat/config");
        }
    }

    private static async Task<TimeSpan[]> LatenciesAsync(ChatApp app)
    {
        var times = new TimeSpan[Requests];

        for (var i = 0; i < Requests; i++)
        {
            using var client = app.ClientFor(Ids.New("owner"));
            var started = Stopwatch.GetTimestamp();
            using var response = await client.PostJsonAsync("/api/chat/token", new { });
            times[i] = Stopwatch.GetElapsedTime(started);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Array.Sort(times);
        return times;
    }

    private static TimeSpan P99(TimeSpan[] sorted) => sorted[(int)Math.Ceiling(sorted.Length * 0.99) - 1];

    private static async Task<int> AllowedAsync(ChatApp app, string user, int calls)
    {
        var client = app.ClientFor(user);
        var allowed = 0;
        for (var i = 0; i < calls; i++)
        {
            var response = await client.PostJsonAsync("/api/chat/token", new { });
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, response.StatusCode.ToString());
            allowed += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        return allowed;
    }

    internal static async Task<string> DependencyAsync(ChatApp app, string check)
    {
        var response = await app.AnonymousClient().GetAsync("/health/dependencies");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return body.GetProperty("checks").GetProperty(check).GetProperty("status").GetString()!;
    }

    /// <summary>The value an observable gauge of this app's own meters reports for one tag value (null: none reported).</summary>
    internal static long? Gauge(ChatApp app, string name, string tagValue)
    {
        var factory = app.Services.GetRequiredService<IMeterFactory>();
        long? found = null;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (Equals(tag.Value, tagValue))
                {
                    found = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return found;
    }
}
