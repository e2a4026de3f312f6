using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AppointmentChat.Bench;

/// <summary>Options of <c>bench/run</c>.</summary>
internal sealed record BenchOptions(TimeSpan Duration, int Connections, string[] Databases, bool Scaling, string Root)
{
    public static BenchOptions Parse(string[] args)
    {
        var duration = TimeSpan.FromSeconds(10);
        var connections = 64;
        string[] databases = ["sqlite", "postgres"];
        var scaling = true;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--duration": duration = TimeSpan.FromSeconds(int.Parse(value, CultureInfo.InvariantCulture)); i++; break;
                case "--connections": connections = int.Parse(value, CultureInfo.InvariantCulture); i++; break;
                case "--db": databases = value == "both" ? ["sqlite", "postgres"] : [value]; i++; break;
                case "--no-scaling": scaling = false; break;
                default: throw new ArgumentException($"Unknown option {args[i]}; use --duration <s> --connections <n> --db sqlite|postgres|both --no-scaling");
            }
        }

        var root = new DirectoryInfo(Environment.CurrentDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "AppointmentChat.slnx")))
        {
            root = root.Parent;
        }

        return new BenchOptions(duration, connections, databases, scaling && databases.Contains("postgres"), root?.FullName ?? throw new InvalidOperationException("Run from inside the repository."));
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
                "--port", EmulatorPort.ToString(CultureInfo.InvariantCulture), "--api-key", Credentials.StreamKey, "--api-secret", Credentials.StreamSecret]);
            await emulator.WaitUntilOkAsync(new Uri($"http://127.0.0.1:{EmulatorPort}/_emulator/state?api_key={Credentials.StreamKey}&authorization={Credentials.ServerToken()}&stream-auth-type=jwt"), TimeSpan.FromSeconds(60));

            report.Ceiling = await CeilingAsync(options, work, report);
            foreach (var database in options.Databases)
            {
                report.Runs.Add(await ScenariosAsync(options, database, work, report.Ceiling.Token.RequestsPerSecond));
            }

            if (options.Scaling)
            {
                report.Scaling = await ScalingAsync(options, work);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        var results = Path.Combine(options.Root, "bench", "results");
        Directory.CreateDirectory(results);
        await File.WriteAllTextAsync(Path.Combine(results, "latency.svg"), report.Chart());
        await File.WriteAllTextAsync(Path.Combine(results, "latest.md"), await report.MarkdownAsync());
        Console.WriteLine($"Wrote {Path.Combine(results, "latest.md")} and latency.svg");
        return report.AllTargetsMet ? 0 : 3;
    }

    private static readonly int EmulatorPort = Proc.FreePort();

    private static readonly int[] CurveConnections = [1, 4, 16, 32, 64, 128];

    private static string Dll(BenchOptions options, string project, string name) =>
        Path.Combine(options.Root, project, "bin", "Release", "net10.0", name + ".dll");

    private static (Dictionary<string, string> Fixed, string[] Varying, List<(string, string[])> Requests) TokenLoad()
    {
        var requests = Enumerable.Range(0, 64).Select(i => ("{}", new[] { "Bearer " + Credentials.Jwt($"bench-user-{i}", "pet-owner") })).ToList();
        return (new Dictionary<string, string> { ["Content-Type"] = "application/json" }, ["Authorization"], requests);
    }

    private static async Task<CeilingResult> CeilingAsync(BenchOptions options, string work, Report report)
    {
        var port = Proc.FreePort();
        await using var ceiling = Proc.Start("dotnet", [Dll(options, "bench/Ceiling", "Ceiling"), "--urls", $"http://127.0.0.1:{port}",
            "--jwt-secret", Credentials.JwtSecret, "--stream-secret", Credentials.StreamSecret]);
        var url = new Uri($"http://127.0.0.1:{port}/api/chat/token");
        await ceiling.WaitUntilOkAsync(new Uri($"http://127.0.0.1:{port}/health/live"), TimeSpan.FromSeconds(30));
        var (fixedHeaders, varying, requests) = TokenLoad();
        var script = Wrk.RoundRobin("POST", "/api/chat/token", fixedHeaders, varying, requests);
        Log("ceiling: warming up");
        await Wrk.RunAsync(url, script, options.Connections, TimeSpan.FromSeconds(3), work);
        var token = await Wrk.RunAsync(url, script, options.Connections, options.Duration, work);
        Log($"ceiling: {token.RequestsPerSecond:F0} req/s, p99 {token.P99Ms:F2} ms");
        var curve = new List<WrkResult>();
        foreach (var c in CurveConnections)
        {
            curve.Add(await Wrk.RunAsync(url, script, c, Half(options), work));
        }

        return new CeilingResult(token, curve, ceiling.PeakRssMiB());
    }

    private static TimeSpan Half(BenchOptions options) => TimeSpan.FromSeconds(Math.Max(3, options.Duration.TotalSeconds / 2));

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
        ["RateLimiting__Token__PermitLimit"] = "1000000000",
        ["RateLimiting__Token__WindowSeconds"] = "1",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    private static async Task<(Proc Service, TimeSpan Ready)> StartServiceAsync(BenchOptions options, BenchDatabase database, int port)
    {
        var service = Proc.Start("dotnet", [Dll(options, "src/AppointmentChat.Api", "AppointmentChat.Api")], ServiceEnvironment(database, port), database.DataFolder);
        var ready = await service.WaitUntilOkAsync(new Uri($"http://127.0.0.1:{port}/health/ready"), TimeSpan.FromSeconds(60));
        return (service, ready);
    }

    private static async Task<ScenarioRun> ScenariosAsync(BenchOptions options, string kind, string work, double ceilingRps)
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

        // 1. Tokens.
        var (fixedHeaders, varying, requests) = TokenLoad();
        var tokenScript = Wrk.RoundRobin("POST", "/api/chat/token", fixedHeaders, varying, requests);
        await Wrk.RunAsync(new Uri(baseUrl, "api/chat/token"), tokenScript, options.Connections, TimeSpan.FromSeconds(3), work);
        run.Token = await Wrk.RunAsync(new Uri(baseUrl, "api/chat/token"), tokenScript, options.Connections, options.Duration, work);
        run.PeakRssMiB = service.PeakRssMiB();
        Log($"{kind}: token {run.Token.RequestsPerSecond:F0} req/s ({run.Token.RequestsPerSecond / ceilingRps:P0} of the ceiling), p99 {run.Token.P99Ms:F2} ms, peak RSS {run.PeakRssMiB:F0} MiB");
        foreach (var c in CurveConnections)
        {
            run.TokenCurve.Add(await Wrk.RunAsync(new Uri(baseUrl, "api/chat/token"), tokenScript, c, Half(options), work));
        }

        // 2. Opening an existing chat (the apps call it on every open): no Stream call may happen.
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

        var openScript = Wrk.RoundRobin("POST", "/api/chat/channels", fixedHeaders, ["Authorization"], openRequests);
        var streamCallsBefore = await StreamCallsAsync();
        run.OpenChat = await Wrk.RunAsync(new Uri(baseUrl, "api/chat/channels"), openScript, options.Connections, options.Duration, work);
        run.StreamCallsWhileOpening = await StreamCallsAsync() - streamCallsBefore;
        Log($"{kind}: open {run.OpenChat.RequestsPerSecond:F0} req/s, {run.StreamCallsWhileOpening} Stream calls");

        // 3. The chat list of a vet with 1,000 chats among 1,000, then with 10,000 among 1,000,000.
        var listRequests = new List<(string, string[])> { ("", ["Bearer " + Credentials.Jwt("vet-bench", "vet")]) };
        var listScript = Wrk.RoundRobin("GET", "/api/chat/channels?limit=30", new Dictionary<string, string>(), ["Authorization"], listRequests);
        var newest = DateTimeOffset.UtcNow;
        await database.SeedChatsAsync(0, 1_000, _ => "vet-bench", newest);
        await Wrk.RunAsync(new Uri(baseUrl, "api/chat/channels?limit=30"), listScript, options.Connections, TimeSpan.FromSeconds(3), work);
        run.ListSmall = await Wrk.RunAsync(new Uri(baseUrl, "api/chat/channels?limit=30"), listScript, options.Connections, options.Duration, work);
        Log($"{kind}: list (1,000 stored) {run.ListSmall.RequestsPerSecond:F0} req/s, p99 {run.ListSmall.P99Ms:F2} ms; seeding 999,000 more");
        var seeding = Stopwatch.StartNew();
        await database.SeedChatsAsync(1_000, 999_000, i => i < 10_000 ? "vet-bench" : $"vet-{i % 100}", newest);
        run.SeedSeconds = seeding.Elapsed.TotalSeconds;
        run.VetChats = await database.CountAsync("SELECT count(*) FROM appointments WHERE \"VetId\" = 'vet-bench'");
        run.StoredChats = await database.CountAsync("SELECT count(*) FROM appointments");
        await Wrk.RunAsync(new Uri(baseUrl, "api/chat/channels?limit=30"), listScript, options.Connections, TimeSpan.FromSeconds(3), work);
        run.ListLarge = await Wrk.RunAsync(new Uri(baseUrl, "api/chat/channels?limit=30"), listScript, options.Connections, options.Duration, work);
        Log($"{kind}: list ({run.StoredChats:N0} stored, {run.VetChats:N0} the vet's) {run.ListLarge.RequestsPerSecond:F0} req/s, p99 {run.ListLarge.P99Ms:F2} ms");

        // 4. Signed message.new webhooks: acknowledged, and the inbox drained.
        (run.Webhooks, run.InboxDrain) = await WebhooksAsync(options, database, [baseUrl], work, "single");
        Log($"{kind}: webhooks {run.Webhooks.RequestsPerSecond:F0}/s acknowledged, p99 {run.Webhooks.P99Ms:F2} ms; processed {run.InboxDrain.ProcessedPerSecond:F0}/s");
        return run;
    }

    /// <summary>Sends signed message.new webhooks to every instance at once, then waits for the inbox to drain.</summary>
    private static async Task<(WrkResult Acknowledged, DrainResult Drain)> WebhooksAsync(BenchOptions options, BenchDatabase database, IReadOnlyList<Uri> instances, string work, string tag)
    {
        var count = (int)Math.Min(150_000, 9_000 * options.Duration.TotalSeconds);
        var scripts = instances.Select((_, n) => Wrk.RoundRobin("POST", "/api/webhooks/stream",
            new Dictionary<string, string> { ["Content-Type"] = "application/json", ["X-Api-Key"] = Credentials.StreamKey, ["X-Webhook-Attempt"] = "1" },
            ["X-Signature", "X-Webhook-Id"],
            [.. Enumerable.Range(0, count / instances.Count).Select(i => Webhook($"{tag}-{n}-{i}", i % 10_000))])).ToList();
        var processedBefore = await database.CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"Status\" <> 'pending'");
        var started = Stopwatch.StartNew();
        var runs = await Task.WhenAll(instances.Select((instance, n) =>
            Wrk.RunAsync(new Uri(instance, "api/webhooks/stream"), scripts[n], Math.Max(2, options.Connections / instances.Count), options.Duration, work)));
        var acknowledged = WrkResult.Sum(runs);
        var received = await database.CountAsync("SELECT count(*) FROM webhook_inbox") ;
        while (await database.CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"Status\" = 'pending'") > 0 && started.Elapsed < TimeSpan.FromMinutes(10))
        {
            await Task.Delay(100);
        }

        var processed = await database.CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"Status\" <> 'pending'") - processedBefore;
        return (acknowledged, new DrainResult(processed, started.Elapsed, received));
    }

    private static (string, string[]) Webhook(string id, int chat)
    {
        var channel = "appointment-" + BenchDatabase.Id(chat);
        var now = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        var body = new JsonObject
        {
            ["type"] = "message.new",
            ["cid"] = "messaging:" + channel,
            ["channel_id"] = channel,
            ["channel_type"] = "messaging",
            ["message"] = new JsonObject { ["id"] = "m-" + id, ["text"] = "Bench message " + id, ["user"] = new JsonObject { ["id"] = $"owner-{chat}" }, ["created_at"] = now },
            ["user"] = new JsonObject { ["id"] = $"owner-{chat}" },
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
                var token = WrkResult.Sum(await Task.WhenAll(instances.Select(i =>
                    Wrk.RunAsync(new Uri(i.Url, "api/chat/token"), script, options.Connections / n, options.Duration, work))));
                var (webhooks, drain) = await WebhooksAsync(options, database, [.. instances.Select(i => i.Url)], work, $"scale{n}");
                results.Add(new ScalingResult(n, token, webhooks, drain));
                Log($"scaling: {n} instance(s): token {token.RequestsPerSecond:F0} req/s, webhooks {webhooks.RequestsPerSecond:F0}/s, processed {drain.ProcessedPerSecond:F0}/s");
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

    private static void Log(string message) => Console.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");
}

internal sealed record CeilingResult(WrkResult Token, List<WrkResult> Curve, double PeakRssMiB);

internal sealed record DrainResult(long Processed, TimeSpan Elapsed, long Received)
{
    public double ProcessedPerSecond => Processed / Elapsed.TotalSeconds;
}

internal sealed record ScalingResult(int Instances, WrkResult Token, WrkResult Webhooks, DrainResult Drain);

internal sealed class ScenarioRun(string database)
{
    public string Database { get; } = database;

    public TimeSpan FirstStartToReady { get; set; }

    public TimeSpan StartToReady { get; set; }

    public WrkResult Token { get; set; } = null!;

    public List<WrkResult> TokenCurve { get; } = [];

    public double PeakRssMiB { get; set; }

    public WrkResult OpenChat { get; set; } = null!;

    public long StreamCallsWhileOpening { get; set; }

    public WrkResult ListSmall { get; set; } = null!;

    public WrkResult ListLarge { get; set; } = null!;

    public long VetChats { get; set; }

    public long StoredChats { get; set; }

    public double SeedSeconds { get; set; }

    public WrkResult Webhooks { get; set; } = null!;

    public DrainResult InboxDrain { get; set; } = null!;
}
