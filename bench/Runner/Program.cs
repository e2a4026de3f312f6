using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime;
using System.Text.Json.Nodes;

namespace AppointmentChat.Bench;

/// <summary>Options of <c>bench/run</c>.</summary>
internal sealed record BenchOptions(TimeSpan Duration, int Connections, string[] Databases, bool Scaling, string[] Scenarios, bool Trace, string Root)
{
    public static readonly string[] AllScenarios = ["token", "open", "list", "webhooks", "scaling", "rush", "push-latency"];

    /// <summary>Chats in the rush scenario (<c>--rush-chats</c>), all due within one minute.</summary>
    public int RushChats { get; init; } = Rush.DefaultChats;

    /// <summary>
    /// Whether scenarios run against each database: all but "scaling" (the 1-, 2- and 3-instance runs on PostgreSQL),
    /// "rush" (<see cref="Rush"/>) and "push-latency" (<see cref="PushLatency"/>), three instances on PostgreSQL each.
    /// </summary>
    public bool RunsPerDatabase => Scenarios.Any(s => s is not ("scaling" or "rush" or "push-latency"));

    /// <summary>The push-latency scenario runs on PostgreSQL only, when asked for.</summary>
    public bool RunsPushLatency => Databases.Contains("postgres") && Runs("push-latency");

    public bool Runs(string scenario) => Scenarios.Contains(scenario);

    public static BenchOptions Parse(string[] args)
    {
        var duration = TimeSpan.FromSeconds(10);
        var connections = 64;
        string[] databases = ["sqlite", "postgres"];
        var scaling = true;
        var scenarios = AllScenarios;
        var trace = false;
        var rushChats = Rush.DefaultChats;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--duration": duration = TimeSpan.FromSeconds(int.Parse(value, CultureInfo.InvariantCulture)); i++; break;
                case "--connections": connections = int.Parse(value, CultureInfo.InvariantCulture); i++; break;
                case "--db": databases = value == "both" ? ["sqlite", "postgres"] : [value]; i++; break;
                case "--no-scaling": scaling = false; break;
                case "--trace": trace = true; break;
                case "--rush-chats":
                    rushChats = int.Parse(value, CultureInfo.InvariantCulture);
                    if (rushChats < 1)
                    {
                        throw new ArgumentException("--rush-chats takes a number of chats, at least 1");
                    }

                    i++;
                    break;
                case "--scenarios":
                    scenarios = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (scenarios.Length == 0 || scenarios.Except(AllScenarios).Any())
                    {
                        throw new ArgumentException($"--scenarios takes a comma-separated list of {string.Join(", ", AllScenarios)}");
                    }

                    i++;
                    break;
                default: throw new ArgumentException($"Unknown option {args[i]}; use --duration <s> --connections <n> --db sqlite|postgres|both --scenarios token,open,list,webhooks,scaling,rush,push-latency --rush-chats <n> --no-scaling --trace");
            }
        }

        var root = new DirectoryInfo(Environment.CurrentDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "AppointmentChat.slnx")))
        {
            root = root.Parent;
        }

        return new BenchOptions(duration, connections, databases, scaling && databases.Contains("postgres") && scenarios.Contains("scaling"), scenarios, trace, root?.FullName ?? throw new InvalidOperationException("Run from inside the repository."))
        {
            RushChats = rushChats,
        };
    }
}

internal static class BenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        var options = BenchOptions.Parse(args);
        var work = Directory.CreateTempSubdirectory("appointment-chat-bench-").FullName;
        var report = new Report(options);
        try
        {
            await using var emulator = Proc.Start("dotnet", [Dll(options, "src/AppointmentChat.StreamEmulator", "AppointmentChat.StreamEmulator"),
                "--port", EmulatorPort.ToString(CultureInfo.InvariantCulture), "--api-key", Credentials.StreamKey, "--api-secret", Credentials.StreamSecret, "--state-file", "memory"]);
            await emulator.WaitUntilOkAsync(new Uri($"http://127.0.0.1:{EmulatorPort}/_emulator/state?api_key={Credentials.StreamKey}&authorization={Credentials.ServerToken()}&stream-auth-type=jwt"), TimeSpan.FromSeconds(60));

            // The scenarios run per database are reported as ratios to the ceiling; the others do not need it running.
            await using var ceiling = options.RunsPerDatabase ? await Ceiling.StartAsync(options, work) : null;
            report.Ceiling = ceiling?.Result;
            foreach (var database in options.RunsPerDatabase ? options.Databases : [])
            {
                report.Runs.Add(await ScenariosAsync(options, database, work, ceiling!));
            }

            if (options.Scaling)
            {
                report.Scaling = await ScalingAsync(options, work);
            }

            if (options.Runs("rush"))
            {
                if (options.Databases.Contains("postgres"))
                {
                    report.Rush = await Rush.RunAsync(options, work);
                }
                else
                {
                    Log("rush: skipped: it runs three instances on one PostgreSQL; use --db postgres or --db both");
                }
            }

            if (options.RunsPushLatency)
            {
                report.PushLatency = await PushLatency.RunAsync(options, work);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        var results = Path.Combine(options.Root, "bench", "results");
        Directory.CreateDirectory(results);
        if (report.Ceiling is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(results, "latency.svg"), report.Chart());
        }

        await File.WriteAllTextAsync(Path.Combine(results, "latest.md"), await report.MarkdownAsync());
        Console.WriteLine($"Wrote {Path.Combine(results, "latest.md")}{(report.Ceiling is null ? "" : " and latency.svg")}");
        return report.AllTargetsMet ? 0 : 3;
    }

    internal static readonly int EmulatorPort = Proc.FreePort();

    internal static readonly int[] CurveConnections = [1, 4, 16, 32, 64, 128];

    internal static string Dll(BenchOptions options, string project, string name) =>
        Path.Combine(options.Root, project, "bin", "Release", "net10.0", name + ".dll");

    /// <summary>The service as bench/run publishes it (ReadyToRun, as the Dockerfile does).</summary>
    private static string ServiceDll(BenchOptions options) => Path.Combine(options.Root, "artifacts", "bench", "service", "AppointmentChat.Api.dll");

    internal static (Dictionary<string, string> Fixed, string[] Varying, List<(string, string[])> Requests) TokenLoad()
    {
        var requests = Enumerable.Range(0, 64).Select(i => ("{}", new[] { "Bearer " + Credentials.Jwt($"bench-user-{i}", "pet-owner") })).ToList();
        return (new Dictionary<string, string> { ["Content-Type"] = "application/json" }, ["Authorization"], requests);
    }

    /// <summary>Rounds of the token scenario, alternating with the ceiling; the median of each is reported.</summary>
    private const int TokenRounds = 3;

    /// <summary>
    /// Rounds of each list measurement. Its target compares two p99s, and one 10 s run's p99 says as much about the
    /// machine's neighbours as about the list (the same build measured 41 and 121 ms in consecutive runs), so each is
    /// the median of three rounds, as the steady webhooks' is.
    /// </summary>
    private const int ListRounds = 3;

    private static string Rounds(IEnumerable<WrkResult> rounds) =>
        string.Join("; ", rounds.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.RequestsPerSecond:F0} req/s, p99 {r.P99Ms:F2} ms")));

    internal static TimeSpan Half(BenchOptions options) => TimeSpan.FromSeconds(Math.Max(3, options.Duration.TotalSeconds / 2));

    private static Dictionary<string, string?> ServiceEnvironment(BenchDatabase database, int port) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["JWT_SECRET"] = Credentials.JwtSecret,
        ["STREAM_API_KEY"] = Credentials.StreamKey,
        ["STREAM_API_SECRET"] = Credentials.StreamSecret,
        ["STREAM_CHAT_URL"] = $"http://127.0.0.1:{EmulatorPort}",
        ["Storage__DataFolder"] = database.DataFolder,
        ["DATABASE_URL"] = database.DatabaseUrl,
        ["Database__UseSqlite"] = database.DatabaseUrl is null ? "true" : null, // outside Development SQLite is an opt-in
        ["RateLimiting__Token__PermitLimit"] = "1000000000",
        ["RateLimiting__Token__WindowSeconds"] = "1",
        ["Logging__LogLevel__Default"] = "Warning",
        // Measured as operators run it: with its metrics collected (a scrape endpoint nobody reads here).
        ["Telemetry__Prometheus"] = "true",
    };

    /// <summary>Starts the service on <paramref name="database"/>, with <paramref name="settings"/> added to its environment.</summary>
    internal static async Task<(Proc Service, TimeSpan Ready)> StartServiceAsync(BenchOptions options, BenchDatabase database, int port, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var environment = ServiceEnvironment(database, port);
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        var service = Proc.Start("dotnet", [ServiceDll(options)], environment, database.DataFolder);
        var ready = await service.WaitUntilOkAsync(new Uri($"http://127.0.0.1:{port}/health/ready"), TimeSpan.FromSeconds(60));
        return (service, ready);
    }

    private static async Task<ScenarioRun> ScenariosAsync(BenchOptions options, string kind, string work, Ceiling ceiling)
    {
        Log($"{kind}: preparing the database");
        await using var database = await BenchDatabase.CreateAsync(kind, work);
        var port = Proc.FreePort();
        var baseUrl = new Uri($"http://127.0.0.1:{port}/");
        var run = new ScenarioRun(kind);

        // Start-up: the first start creates the schema; a restart is what a deployment or a crash costs.
        var (first, firstReady) = await StartServiceAsync(options, database, port);
        await first.StopAsync();
        await first.DisposeAsync();
        var (service, ready) = await StartServiceAsync(options, database, port);
        await using var _ = service;
        run.FirstStartToReady = firstReady;
        run.StartToReady = ready;
        Log($"{kind}: ready in {ready.TotalMilliseconds:F0} ms ({firstReady.TotalMilliseconds:F0} ms on the first start, migrations included)");

        // 1. Tokens, in rounds alternating with the ceiling so that both see the same machine.
        var (fixedHeaders, varying, requests) = TokenLoad();
        var tokenScript = Wrk.RoundRobin("POST", "/api/chat/token", fixedHeaders, varying, requests);
        var tokenUrl = new Uri(baseUrl, "api/chat/token");
        if (options.Runs("token"))
        {
            run.WarmUps.Add(("token", await Warming.WarmUpAsync(service, $"{kind}: token", d => Wrk.RunAsync(tokenUrl, tokenScript, options.Connections, d, work))));
            var rounds = new List<WrkResult>();
            for (var round = 0; round < TokenRounds; round++)
            {
                run.CeilingRounds.Add(await ceiling.MeasureAsync());
                rounds.Add(await Profiles.DuringAsync(options, service, $"{kind}-token-{round + 1}", () => Wrk.RunAsync(tokenUrl, tokenScript, options.Connections, options.Duration, work)));
            }

            run.TokenRounds.AddRange(rounds);
            run.Token = WrkResult.Median(rounds);
            run.PeakRssMiB = service.PeakRssMiB();
            Log($"{kind}: token {run.Token.RequestsPerSecond:F0} req/s ({run.Token.RequestsPerSecond / WrkResult.Median(run.CeilingRounds).RequestsPerSecond:P0} of the ceiling meanwhile), p99 {run.Token.P99Ms:F2} ms, peak RSS {run.PeakRssMiB:F0} MiB");
            foreach (var c in CurveConnections)
            {
                run.TokenCurve.Add(await Wrk.RunAsync(tokenUrl, tokenScript, c, Half(options), work));
            }
        }

        // 2. Opening an existing chat (the apps call it on every open): no Stream call may happen.
        if (options.Runs("open"))
        {
            var openScript = Wrk.RoundRobin("POST", "/api/chat/channels", fixedHeaders, ["Authorization"], await OpenableChatsAsync(baseUrl));
            var openUrl = new Uri(baseUrl, "api/chat/channels");
            run.WarmUps.Add(("open", await Warming.WarmUpAsync(service, $"{kind}: open", d => Wrk.RunAsync(openUrl, openScript, options.Connections, d, work))));
            var streamCallsBefore = await StreamCallsAsync();
            run.OpenChat = await Profiles.DuringAsync(options, service, $"{kind}-open", () => Wrk.RunAsync(openUrl, openScript, options.Connections, options.Duration, work));
            run.StreamCallsWhileOpening = await StreamCallsAsync() - streamCallsBefore;
            Log($"{kind}: open {run.OpenChat.RequestsPerSecond:F0} req/s, {run.StreamCallsWhileOpening} Stream calls");
        }

        // 3. The chat list of a vet with 1,000 chats among 1,000 stored, and of one with 10,000 among 1,000,000.
        var newest = DateTimeOffset.UtcNow;
        await database.SeedChatsAsync(0, 1_000, _ => "vet-bench", newest);
        if (options.Runs("list"))
        {
            Log($"{kind}: seeding 999,000 more chats");
            var seeding = Stopwatch.StartNew();
            await database.SeedChatsAsync(1_000, 999_000, i => i < 10_000 ? "vet-bench" : $"vet-{i % 100}", newest);
            run.SeedSeconds = seeding.Elapsed.TotalSeconds;
            run.VetChats = await database.CountAsync("SELECT count(*) FROM appointments WHERE \"VetId\" = 'vet-bench'");
            run.StoredChats = await database.CountAsync("SELECT count(*) FROM appointments");
            await ListsAsync(options, kind, run, service, baseUrl, newest, work);
        }
        else if (options.Runs("webhooks"))
        {
            await database.SeedChatsAsync(1_000, 9_000, _ => "vet-bench", newest); // the chats the webhooks are about
        }

        // 4. Signed message.new webhooks: acknowledged, and the inbox drained.
        if (options.Runs("webhooks"))
        {
            run.Webhooks = await WebhooksAsync(options, database, [baseUrl], work, "single", SteadyWebhookRounds, (service, kind));
            Log($"{kind}: {run.Webhooks}");
        }

        return run;
    }

    /// <summary>
    /// The list's two measurements, in alternating rounds: <paramref name="large"/> on the run's database (1,000,000
    /// stored) and the same vet's list among 1,000 on a database of their own, with a service of its own. The target
    /// compares the two p99s; measured one after the other, minutes apart (the 1,000 before seeding the rest), they
    /// compared the machine's moods as much as the lists: the same build's ratio was 0.95x in one run and 1.61x in the
    /// next, from one round at 211.8 ms. Each service warms up with its own load first (its own JIT), and is idle
    /// while the other is measured.
    /// </summary>
    private static async Task ListsAsync(BenchOptions options, string kind, ScenarioRun run, Proc large, Uri largeUrl, DateTimeOffset newest, string work)
    {
        await using var smallDatabase = await BenchDatabase.CreateAsync(kind, work);
        var smallPort = Proc.FreePort();
        var (small, _) = await StartServiceAsync(options, smallDatabase, smallPort);
        await using var _ = small;
        await smallDatabase.SeedChatsAsync(0, 1_000, _ => "vet-bench", newest);

        var listRequests = new List<(string, string[])> { ("", ["Bearer " + Credentials.Jwt("vet-bench", "vet")]) };
        var listScript = Wrk.RoundRobin("GET", "/api/chat/channels?limit=30", new Dictionary<string, string>(), ["Authorization"], listRequests);
        var lists = new[]
        {
            (Name: "list", Tag: "small", Service: small, Url: new Uri($"http://127.0.0.1:{smallPort}/api/chat/channels?limit=30"), Rounds: run.ListSmallRounds),
            (Name: "list among 1,000,000", Tag: "large", Service: large, Url: new Uri(largeUrl, "api/chat/channels?limit=30"), Rounds: run.ListLargeRounds),
        };
        foreach (var list in lists)
        {
            run.WarmUps.Add((list.Name, await Warming.WarmUpAsync(list.Service, $"{kind}: {list.Name}", d => Wrk.RunAsync(list.Url, listScript, options.Connections, d, work))));
        }

        for (var round = 1; round <= ListRounds; round++)
        {
            foreach (var list in lists)
            {
                list.Rounds.Add(await Profiles.DuringAsync(options, list.Service, $"{kind}-list-{list.Tag}-{round}", () => Wrk.RunAsync(list.Url, listScript, options.Connections, options.Duration, work)));
            }
        }

        Log($"{kind}: list (1,000 stored) {Rounds(run.ListSmallRounds)}");
        Log($"{kind}: list ({run.StoredChats:N0} stored, {run.VetChats:N0} the vet's) {Rounds(run.ListLargeRounds)}");
    }

    /// <summary>64 appointments with a chat already created, each opened by its pet owner.</summary>
    private static async Task<List<(string, string[])>> OpenableChatsAsync(Uri baseUrl)
    {
        using var http = new HttpClient { BaseAddress = baseUrl };
        var openRequests = new List<(string, string[])>();
        for (var i = 0; i < 64; i++)
        {
            var appointment = $"open-{i}";
            var owner = $"open-owner-{i}";
            var put = new HttpRequestMessage(HttpMethod.Put, $"api/appointments/{appointment}")
            {
                Content = JsonContent.Create(new { petOwnerId = owner, vetId = $"open-vet-{i}", organisationId = "clinic-1", startsAt = DateTimeOffset.UtcNow.AddMinutes(2).ToString("O"), durationMinutes = 30 }),
            };
            put.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Credentials.Jwt("pms", "service"));
            (await http.SendAsync(put)).EnsureSuccessStatusCode();
            var body = $$"""{"appointmentId":"{{appointment}}"}""";
            var create = new HttpRequestMessage(HttpMethod.Post, "api/chat/channels") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Credentials.Jwt(owner, "pet-owner"));
            (await http.SendAsync(create)).EnsureSuccessStatusCode();
            openRequests.Add((body, ["Bearer " + Credentials.Jwt(owner, "pet-owner")]));
        }

        return openRequests;
    }

    /// <summary>
    /// The webhook rate the targets are set at: a morning rush of chat messages (PostgreSQL, production); SQLite, the
    /// embedded default for development and single small deployments, is held to 1,000/s (issue 27).
    /// </summary>
    public static double PacedWebhookRate(string databaseKind) => databaseKind == "sqlite" ? 1_000 : 3_000;

    private static readonly TimeSpan PacedWarmUp = TimeSpan.FromSeconds(5);

    /// <summary>Connections of the paced sender, shared among the instances: at 3,000/s a few dozen requests are in flight.</summary>
    private const int PacedConnections = 96;

    /// <summary>
    /// Steady runs of each database's webhook scenario, reported by their median p99 like the token rounds: the
    /// same code and data gave a p99 from 15 to 118 ms from one run to the next on this shared 2-core machine.
    /// </summary>
    private const int SteadyWebhookRounds = 3;

    /// <summary>
    /// Signed message.new webhooks, spread over every instance: first as fast as they are answered (wrk, the
    /// capacity), then at a steady 3,000/s (as Stream sends them: the latency and whether the inbox keeps up),
    /// in <paramref name="steadyRounds"/> rounds. Each phase waits for the inbox to drain.
    /// </summary>
    private static async Task<WebhookRun> WebhooksAsync(BenchOptions options, BenchDatabase database, IReadOnlyList<Uri> instances, string work, string tag, int steadyRounds, (Proc Service, string Kind)? traced = null)
    {
        var connections = Math.Max(2, options.Connections / instances.Count);
        var urls = instances.Select(i => new Uri(i, "api/webhooks/stream")).ToList();
        string Script(int n, string phase, int count) => Wrk.RoundRobin("POST", "/api/webhooks/stream", WebhookHeaders, ["X-Signature", "X-Webhook-Id"],
            [.. Enumerable.Range(0, count).Select(i => Webhook($"{tag}-{phase}-{n}-{i}", i % 10_000))]);

        // Warm-up: a short burst of other events, processed before the measured ones start.
        await Task.WhenAll(urls.Select((url, n) => Wrk.RunAsync(url, Script(n, "warm", 20_000), connections, TimeSpan.FromSeconds(3), work)));
        await WaitForEmptyInboxAsync(database);

        // More events prepared than can be answered, so that no id repeats.
        var perInstance = (int)Math.Min(200_000, 15_000 * options.Duration.TotalSeconds) / instances.Count;
        var scripts = urls.Select((_, n) => Script(n, "burst", perInstance)).ToList();
        Task<WrkResult> Traced(string name, Func<Task<WrkResult>> load) =>
            traced is var (service, kind) ? Profiles.DuringAsync(options, service, $"{kind}-webhooks-{name}", load) : load();
        var saturated = await MeasureInboxAsync(database, () => Traced("capacity", async () =>
            WrkResult.Sum(await Task.WhenAll(urls.Select((url, n) => Wrk.RunAsync(url, scripts[n], connections, options.Duration, work))))));
        scripts.Clear();

        List<byte[]> PacedRequests(int n, string phase, int count) =>
            [.. Enumerable.Range(0, count).Select(i => PacedWebhook(urls[n], $"{tag}-{phase}-{n}-{i}", i % 10_000))];
        var rate = PacedWebhookRate(database.Kind) / instances.Count;
        var paced = (int)(PacedWebhookRate(database.Kind) * options.Duration.TotalSeconds) / instances.Count;

        // Warm-up at the same rate, as for every other scenario: the senders' connections are opened and the burst
        // before has been written back from SQLite's WAL, so the measured runs see the steady state.
        var senders = new List<PacedSender>();
        foreach (var url in urls)
        {
            senders.Add(await PacedSender.ConnectAsync(url, PacedConnections / instances.Count));
        }

        var latencyMode = GCSettings.LatencyMode;
        try
        {
            // The sender is on the same machine: its own garbage collections would count as the service's latency.
            // The burst's scripts (hundreds of MB) are collected now, and no blocking full collection runs while it sends.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GCSettings.LatencyMode = GCLatencyMode.SustainedLowLatency;
            var warm = urls.Select((_, n) => PacedRequests(n, "paced-warm", (int)(rate * PacedWarmUp.TotalSeconds))).ToList();
            await Task.WhenAll(urls.Select((_, n) => senders[n].RunAsync(warm[n], rate, PacedWarmUp)));
            await WaitForEmptyInboxAsync(database);
            var rounds = new List<(WrkResult Load, DrainResult Drain)>();
            for (var round = 1; round <= steadyRounds; round++)
            {
                var requests = urls.Select((_, n) => PacedRequests(n, $"paced{round}", paced)).ToList();
                rounds.Add(await MeasureInboxAsync(database, () => Traced($"steady-{round}", async () =>
                    WrkResult.Sum(await Task.WhenAll(urls.Select((_, n) => senders[n].RunAsync(requests[n], rate, options.Duration)))))));
            }

            var median = rounds.OrderBy(r => r.Load.P99Ms).ElementAt(rounds.Count / 2);
            return new WebhookRun(saturated.Load, saturated.Drain, median.Load, median.Drain, rounds);
        }
        finally
        {
            GCSettings.LatencyMode = latencyMode;
            foreach (var sender in senders)
            {
                await sender.DisposeAsync();
            }
        }
    }

    /// <summary>Runs a load of webhooks and follows the inbox: the backlog when the load stopped, and how long it took to drain.</summary>
    private static async Task<(WrkResult Load, DrainResult Drain)> MeasureInboxAsync(BenchDatabase database, Func<Task<WrkResult>> load)
    {
        var processedBefore = await database.CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"Status\" <> 'pending'");
        var receivedBefore = await database.CountAsync("SELECT count(*) FROM webhook_inbox");
        var started = Stopwatch.StartNew();
        var result = await load();
        var loadEnded = started.Elapsed;
        var backlog = await database.CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"Status\" = 'pending'");
        await WaitForEmptyInboxAsync(database);
        var received = await database.CountAsync("SELECT count(*) FROM webhook_inbox") - receivedBefore;
        var processed = await database.CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"Status\" <> 'pending'") - processedBefore;
        return (result, new DrainResult(processed, started.Elapsed, received, backlog, started.Elapsed - loadEnded));
    }

    private static readonly Dictionary<string, string> WebhookHeaders = new()
    {
        ["Content-Type"] = "application/json",
        ["X-Api-Key"] = Credentials.StreamKey,
        ["X-Webhook-Attempt"] = "1",
    };

    private static async Task WaitForEmptyInboxAsync(BenchDatabase database)
    {
        var waiting = Stopwatch.StartNew();
        while (await database.CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"Status\" = 'pending'") > 0
            && waiting.Elapsed < TimeSpan.FromMinutes(10))
        {
            await Task.Delay(50);
        }
    }

    /// <summary>A signed message.new (<see cref="Webhook"/>) as the paced sender's bytes for <paramref name="url"/>.</summary>
    internal static byte[] PacedWebhook(Uri url, string id, int chat, string? senderId = null)
    {
        var (body, values) = Webhook(id, chat, senderId);
        return PacedSender.Request(url, body, new Dictionary<string, string>(WebhookHeaders.Where(h => h.Key != "Content-Type"))
        {
            ["X-Signature"] = values[0],
            ["X-Webhook-Id"] = values[1],
        });
    }

    /// <summary>
    /// A signed message.new in chat <paramref name="chat"/> (seeded: its pet owner <c>owner-{chat}</c> and the vet
    /// <c>vet-bench</c>), with message id <c>m-{id}</c>, from the pet owner unless <paramref name="senderId"/> says
    /// otherwise; the body and its X-Signature and X-Webhook-Id.
    /// </summary>
    private static (string, string[]) Webhook(string id, int chat, string? senderId = null)
    {
        var channel = "appointment-" + BenchDatabase.Id(chat);
        var sender = senderId ?? $"owner-{chat}";
        var now = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        var body = new JsonObject
        {
            ["type"] = "message.new",
            ["cid"] = "messaging:" + channel,
            ["channel_id"] = channel,
            ["channel_type"] = "messaging",
            ["message"] = new JsonObject { ["id"] = "m-" + id, ["text"] = "Bench message " + id, ["user"] = new JsonObject { ["id"] = sender }, ["created_at"] = now },
            ["user"] = new JsonObject { ["id"] = sender },
            ["members"] = new JsonArray(new JsonObject { ["user_id"] = $"owner-{chat}" }, new JsonObject { ["user_id"] = "vet-bench" }),
            ["created_at"] = now,
        }.ToJsonString();
        return (body, [Credentials.WebhookSignature(body), "bench-" + id]);
    }

    /// <summary>Throughput with 1, 2 and 3 instances on one PostgreSQL: tokens and webhooks.</summary>
    private static async Task<List<ScalingResult>> ScalingAsync(BenchOptions options, string work)
    {
        var results = new List<ScalingResult>();
        await using var database = await BenchDatabase.CreateAsync("postgres", work);
        var instances = new List<(Proc Service, Uri Url)>();
        try
        {
            for (var n = 1; n <= 3; n++)
            {
                var port = Proc.FreePort();
                var (service, _) = await StartServiceAsync(options, database, port);
                instances.Add((service, new Uri($"http://127.0.0.1:{port}/")));
                if (n == 1)
                {
                    await database.SeedChatsAsync(0, 10_000, _ => "vet-bench", DateTimeOffset.UtcNow);
                }

                var (fixedHeaders, varying, requests) = TokenLoad();
                var script = Wrk.RoundRobin("POST", "/api/chat/token", fixedHeaders, varying, requests);
                await Warming.WarmUpAsync(service, $"scaling: instance {n}", d => Wrk.RunAsync(new Uri(instances[^1].Url, "api/chat/token"), script, options.Connections, d, work));
                var token = WrkResult.Sum(await Task.WhenAll(instances.Select(i =>
                    Wrk.RunAsync(new Uri(i.Url, "api/chat/token"), script, options.Connections / n, options.Duration, work))));
                var webhooks = await WebhooksAsync(options, database, [.. instances.Select(i => i.Url)], work, $"scale{n}", steadyRounds: 1);
                results.Add(new ScalingResult(n, token, webhooks));
                Log($"scaling: {n} instance(s): token {token.RequestsPerSecond:F0} req/s; {webhooks}");
            }
        }
        finally
        {
            foreach (var (service, _) in instances)
            {
                await service.DisposeAsync();
            }
        }

        return results;
    }

    private static async Task<long> StreamCallsAsync()
    {
        using var http = new HttpClient();
        var calls = await http.GetFromJsonAsync<JsonObject>($"http://127.0.0.1:{EmulatorPort}/_emulator/calls?api_key={Credentials.StreamKey}&authorization={Credentials.ServerToken()}&stream-auth-type=jwt");
        return calls!["calls"]!.AsArray().Count;
    }

    internal static void Log(string message) => Console.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");
}

/// <summary>
/// The inbox during and after a burst: it keeps up when the backlog left when the load stops is under a second
/// of arrivals (a backlog that grew during the burst would be many seconds of them).
/// </summary>
internal sealed record DrainResult(long Processed, TimeSpan Elapsed, long Received, long BacklogAtEnd, TimeSpan DrainAfterLoad)
{
    public double ProcessedPerSecond => Processed / Elapsed.TotalSeconds;
}

internal sealed record ScalingResult(int Instances, WrkResult Token, WebhookRun Webhooks);

/// <summary>
/// The webhook scenario: as fast as answered, then at a steady rate; each with what the inbox did. The steady
/// figures are those of the round with the median p99.
/// </summary>
internal sealed record WebhookRun(WrkResult Saturated, DrainResult SaturatedDrain, WrkResult Steady, DrainResult SteadyDrain, IReadOnlyList<(WrkResult Load, DrainResult Drain)> SteadyRounds)
{
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"webhooks at capacity {Saturated.RequestsPerSecond:F0}/s (p99 {Saturated.P99Ms:F1} ms, backlog {SaturatedDrain.BacklogAtEnd:N0}, drained {SaturatedDrain.DrainAfterLoad.TotalSeconds:F1} s later); "
        + $"steady {Steady.RequestsPerSecond:F0}/s: p99 {Steady.P99Ms:F1} ms, {Steady.Errors} errors, backlog {SteadyDrain.BacklogAtEnd:N0}, drained {SteadyDrain.DrainAfterLoad.TotalSeconds:F2} s later");
}

internal sealed class ScenarioRun(string database)
{
    public string Database { get; } = database;

    public TimeSpan FirstStartToReady { get; set; }

    public TimeSpan StartToReady { get; set; }

    public WrkResult? Token { get; set; }

    public List<WrkResult> TokenRounds { get; } = [];

    /// <summary>
    /// The ceiling's rounds measured between this run's token rounds: the machine as this database's scenarios found
    /// it. A shared VM's speed can change within a run (one run's ceiling went from 32k to 23k between the databases).
    /// </summary>
    public List<WrkResult> CeilingRounds { get; } = [];

    public List<WrkResult> TokenCurve { get; } = [];

    public double PeakRssMiB { get; set; }

    public WrkResult? OpenChat { get; set; }

    public long StreamCallsWhileOpening { get; set; }

    public List<WrkResult> ListSmallRounds { get; } = [];

    public List<WrkResult> ListLargeRounds { get; } = [];

    /// <summary>The list with 1,000 stored: the median round by throughput, with the median p99 of the rounds.</summary>
    public WrkResult? ListSmall => WrkResult.Medians(ListSmallRounds);

    /// <summary>The list with 1,000,000 stored, as <see cref="ListSmall"/>.</summary>
    public WrkResult? ListLarge => WrkResult.Medians(ListLargeRounds);

    public long VetChats { get; set; }

    public long StoredChats { get; set; }

    public double SeedSeconds { get; set; }

    public WebhookRun? Webhooks { get; set; }

    /// <summary>How long each scenario warmed up before it was measured (longer while tiered JIT still compiled).</summary>
    public List<(string Scenario, TimeSpan Length)> WarmUps { get; } = [];
}
