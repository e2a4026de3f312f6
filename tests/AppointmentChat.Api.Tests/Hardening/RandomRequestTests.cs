using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// A seeded random run: 10,000 generated requests (see <see cref="RandomRequests"/>) across every endpoint, with
/// valid and invalid authentication, 16 at a time against one app over real HTTP. Whatever the input: no 5xx, every
/// 4xx a ProblemDetails, no unhandled exception or failing worker in the logs, no secret or token in any response
/// or log line (the app's LeakGuard), and afterwards the database and Stream agree about every chat.
/// The seed is printed; HARDENING_SEED=n replays a run, HARDENING_REQUESTS=n changes its length.
/// </summary>
public abstract class RandomRequestTests(HardeningFixture fixture)
{
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("HARDENING_SEED"), CultureInfo.InvariantCulture, out var seed) ? seed : Random.Shared.Next();

    private static int Count => int.TryParse(Environment.GetEnvironmentVariable("HARDENING_REQUESTS"), CultureInfo.InvariantCulture, out var count) ? count : 10_000;

    [Fact]
    public async Task TenThousandRandomRequestsGetNo5xxLogNoUnhandledErrorAndLeaveTheDatabaseAndStreamAgreeing()
    {
        var (stack, world) = await fixture.StartAsync();
        var seed = Seed;
        Figures.Report($"Random run on {fixture.Kind}: seed {seed} (replay with HARDENING_SEED={seed})");
        var generator = new RandomRequests(world, seed);
        var requests = generator.Generate(Count).ToList();
        var clients = Clients(stack.App, generator);
        var errorsBefore = stack.App.Logs.Lines.Count(l => l.Level >= LogLevel.Error);
        var outcomes = new ConcurrentBag<(string Endpoint, int Status)>();
        var failures = new ConcurrentQueue<string>();
        var started = Stopwatch.GetTimestamp();

        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (generated, cancellationToken) =>
        {
            using var request = Build(generated, seed);
            try
            {
                using var response = await clients[generated.Caller].SendAsync(request, cancellationToken);
                var status = (int)response.StatusCode;
                outcomes.Add((generated.Endpoint, status));
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (status >= 500)
                {
                    failures.Enqueue($"{status} for {generated.Describe()}: {body}");
                }
                else if (status >= 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json" && !RefusedByKestrel(generated, status, body))
                {
                    failures.Enqueue($"{status} without ProblemDetails for {generated.Describe()}: {body}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException)
            {
                failures.Enqueue($"{ex.GetType().Name} for {generated.Describe()}: {ex.Message}");
            }
        });

        var elapsed = Stopwatch.GetElapsedTime(started);
        var byClass = outcomes.GroupBy(o => $"{o.Status / 100}xx").OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}");
        Figures.Report($"Random run on {fixture.Kind}: {outcomes.Count} requests in {elapsed.TotalSeconds:0.0} s ({outcomes.Count / elapsed.TotalSeconds:0}/s): {string.Join(", ", byClass)}");
        Figures.Report("By endpoint: " + string.Join("; ", outcomes.GroupBy(o => o.Endpoint).OrderBy(g => g.Key)
            .Select(g => $"{g.Key}: " + string.Join(" ", g.GroupBy(o => o.Status).OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Count()}")))));
        Assert.True(failures.IsEmpty, $"Seed {seed}: {failures.Count} bad answers, e.g.:{Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(10))}");
        Assert.Equal(requests.Count, outcomes.Count);

        // Nothing went wrong behind the answers either. (Polly reports each attempt that timed out as an error; on a
        // loaded machine a healthy emulator can be slow, and such an attempt is retried, so those are not counted.)
        var errors = stack.App.Logs.Lines.Where(l => l.Level >= LogLevel.Error).Skip(errorsBefore).Where(l => l.Category != "Polly").ToList();
        Assert.True(errors.Count == 0, $"Seed {seed}: errors logged:{Environment.NewLine}{string.Join(Environment.NewLine, errors.Take(5))}");

        // Stream and the database tell the same story about every chat (once Stream's webhooks and the scheduler are done).
        await Eventually.TrueAsync(() => stack.Emulator.Webhooks.All(d => d.Outcome != "pending"), "Stream's webhooks delivered", TimeSpan.FromSeconds(60));
        await Consistency.AgreeAsync(stack, TimeSpan.FromSeconds(60));
        var chats = stack.Emulator.Store.ChannelIds().Count(c => c.StartsWith("messaging:appointment-", StringComparison.Ordinal));
        Figures.Report($"Random run on {fixture.Kind}: afterwards {chats} chats, the database and Stream agreeing on each; {stack.App.Guard.ResponsesInspected} responses checked for leaks");
    }

    /// <summary>Kestrel itself refuses a NUL in the path (400) and a request line over 8 KiB (414), with no body, before any code of ours runs.</summary>
    private static bool RefusedByKestrel(GeneratedRequest generated, int status, string body) =>
        body.Length == 0 && ((status == 400 && generated.Path.Contains("%00", StringComparison.Ordinal)) || (status == 414 && generated.Path.Length > 8000));

    private static HttpRequestMessage Build(GeneratedRequest generated, int seed)
    {
        var request = new HttpRequestMessage(generated.Method, generated.Path);
        if (generated.Body is not null)
        {
            request.Content = new ByteArrayContent(generated.Body);
            if (generated.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", generated.ContentType);
            }

            // Let a body over the limit be refused before it is sent, rather than cut off mid-upload.
            request.Headers.ExpectContinue = generated.Body.Length > 1024 * 1024;
        }

        if (generated.Endpoint == "webhook")
        {
            request.Headers.Add("X-Signature", generated.SignedByStream ? StreamWebhook.Sign(generated.Body!) : StreamWebhook.Sign(generated.Body!, "not-the-secret-0123456789"));
            request.Headers.Add("X-Webhook-Id", $"random-{seed}-{generated.Index}");
            request.Headers.Add("X-Api-Key", ChatApp.StreamApiKey);
        }

        return request;
    }

    private static Dictionary<string, HttpClient> Clients(ChatApp app, RandomRequests generator)
    {
        HttpClient As(string caller, string? role, string? org = null) => app.ClientFor(generator.UserIdOf(caller), role, org);
        var clients = new Dictionary<string, HttpClient>
        {
            ["owner-a"] = As("owner-a", "pet-owner"),
            ["vet-a"] = As("vet-a", "vet", World.ClinicA),
            ["admin-a"] = As("admin-a", "admin", World.ClinicA),
            ["admin-b"] = As("admin-b", "admin", World.ClinicB),
            ["service"] = As("service", "service"),
            ["owner-b"] = As("owner-b", "pet-owner"),
            ["vet-b"] = As("vet-b", "vet", World.ClinicB),
            ["stranger"] = As("stranger", null),
            ["anonymous"] = app.AnonymousClient(),
            ["stream"] = app.AnonymousClient(),
            ["expired"] = app.ClientWithToken(TestJwt.Create(TestJwt.Claims("pms", ["service"], null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow.AddHours(-1)))),
            ["wrong-key"] = app.ClientWithToken(TestJwt.Create(TestJwt.Claims("pms", ["service"], null, TimeSpan.FromHours(1)), "not-the-service-secret-0123456789abcdef")),
            ["alg-none"] = app.ClientWithToken(TestJwt.Encode("""{"alg":"none","typ":"JWT"}""") + "." + TestJwt.Encode(TestJwt.Claims("pms", ["service"], null, TimeSpan.FromHours(1)).ToJsonString()) + "."),
            ["garbage"] = app.ClientWithToken("garbage"),
        };
        foreach (var caller in RandomRequests.ValidCallers.Where(c => c.StartsWith("rnd-", StringComparison.Ordinal)))
        {
            clients[caller] = caller.StartsWith("rnd-owner", StringComparison.Ordinal) ? As(caller, "pet-owner") : As(caller, "vet", World.ClinicA);
        }

        foreach (var client in clients.Values)
        {
            client.Timeout = TimeSpan.FromSeconds(60);
        }

        return clients;
    }
}

public sealed class RandomRequestTestsOnSqlite(SqliteHardening fixture) : RandomRequestTests(fixture), IClassFixture<SqliteHardening>;

public sealed class RandomRequestTestsOnPostgres(PostgresHardening fixture) : RandomRequestTests(fixture), IClassFixture<PostgresHardening>;
