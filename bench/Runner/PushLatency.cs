using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace AppointmentChat.Bench;

/// <summary>
/// How long a chat message takes to become a push: from a signed <c>message.new</c> written to the service to the
/// FCM request naming its message arriving at Google's stand-in (<c>bench/Ceiling fake-fcm</c>, which answers at
/// once), at a steady 1,000 messages/s split evenly between three instances on one PostgreSQL. Every message goes
/// from the vet to a pet owner with one registered device, so each is one push. Both moments are read from the
/// machine's UTC clock, in two processes. What lies between is all the service's: the acknowledgement, the inbox,
/// the processor's gather delay, the outbox and the dispatcher's claim and send.
/// </summary>
internal static class PushLatency
{
    public const double Rate = 1_000;

    public const int Instances = 3;

    public const double TargetP99Ms = 250;

    /// <summary>Pet owners with a device, one chat each with the vet; the messages go round them.</summary>
    private const int Recipients = 1_000;

    /// <summary>Connections of the paced sender, shared among the instances: at 1,000/s a few requests are in flight.</summary>
    private const int Connections = 30;

    private const string ProjectId = "bench-project";

    public static async Task<PushLatencyRun> RunAsync(BenchOptions options, string work)
    {
        var fcmUrl = new Uri($"http://127.0.0.1:{Proc.FreePort()}/");
        await using var fcm = Proc.Start("dotnet", [BenchProgram.Dll(options, "bench/Ceiling", "Ceiling"), "fake-fcm", "--urls", fcmUrl.GetLeftPart(UriPartial.Authority)]);
        await fcm.WaitUntilOkAsync(new Uri(fcmUrl, "health/live"), TimeSpan.FromSeconds(30));
        var push = new Dictionary<string, string?>
        {
            ["Push__Fcm__ProjectId"] = ProjectId,
            ["Push__Fcm__ServiceAccountFile"] = await WriteServiceAccountAsync(work, fcmUrl),
            ["Push__Fcm__BaseUrl"] = fcmUrl.ToString(),
        };

        BenchProgram.Log("push-latency: starting three instances on one PostgreSQL");
        await using var database = await BenchDatabase.CreateAsync("postgres", work);
        var instances = new List<(Proc Service, Uri Url)>();
        var senders = new List<PacedSender>();
        try
        {
            // One after the other: the first start creates the schema.
            for (var n = 0; n < Instances; n++)
            {
                var port = Proc.FreePort();
                var (service, _) = await BenchProgram.StartServiceAsync(options, database, port, push);
                instances.Add((service, new Uri($"http://127.0.0.1:{port}/")));
            }

            await database.SeedChatsAsync(0, Recipients, _ => "vet-bench", DateTimeOffset.UtcNow);
            await RegisterDevicesAsync([.. instances.Select(i => i.Url)]);
            var urls = instances.Select(i => new Uri(i.Url, "api/webhooks/stream")).ToList();
            foreach (var url in urls)
            {
                senders.Add(await PacedSender.ConnectAsync(url, Connections / Instances));
            }

            // Warmed like every other scenario, with its own load, while the first instance's JIT still compiles.
            var steps = 0;
            var warmUp = await Warming.WarmUpAsync(instances[0].Service, "push-latency", async duration =>
            {
                var batches = urls.Select((url, n) => Messages(url, $"warm{steps}-{n}", duration)).ToList();
                steps++;
                await Task.WhenAll(senders.Select((sender, n) => sender.RunAsync(batches[n].Requests, Rate / Instances, duration)));
            });
            var pendingAtStart = await WaitUntilDoneAsync(database);

            var measured = urls.Select((url, n) => Messages(url, $"run-{n}", options.Duration)).ToList();
            var sentAt = measured.Select(b => new double[b.Requests.Count]).ToList();
            var latencyMode = GCSettings.LatencyMode;
            (WrkResult Load, Pending AtEnd, TimeSpan Drain, Pending Left) run;
            CpuUse cpu;
            TimeSpan elapsed;
            try
            {
                // As in the webhook scenario: the sender's own blocking collections would count as the service's latency.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GCSettings.LatencyMode = GCLatencyMode.SustainedLowLatency;
                var clock = Stopwatch.StartNew();
                (run, cpu) = await CpuUse.DuringAsync([.. instances.Select(i => i.Service.Id)], async () =>
                {
                    var load = WrkResult.Sum(await Task.WhenAll(senders.Select((sender, n) =>
                        sender.RunAsync(measured[n].Requests, Rate / Instances, options.Duration, i => sentAt[n][i] = UnixMs(DateTime.UtcNow)))));
                    var loadEnded = clock.Elapsed;
                    var atEnd = await Pending.CountAsync(database);
                    var left = await WaitUntilDoneAsync(database);
                    return (load, atEnd, clock.Elapsed - loadEnded, left);
                });
                elapsed = clock.Elapsed;
            }
            finally
            {
                GCSettings.LatencyMode = latencyMode;
            }

            var sent = new Dictionary<string, double>();
            for (var n = 0; n < measured.Count; n++)
            {
                for (var i = 0; i < measured[n].Ids.Count; i++)
                {
                    if (sentAt[n][i] > 0)
                    {
                        sent["m-" + measured[n].Ids[i]] = sentAt[n][i];
                    }
                }
            }

            var result = PushLatencyRun.From(sent, await ArrivalsAsync(fcmUrl), run.Load, cpu, elapsed, warmUp) with
            {
                PendingAtStart = pendingAtStart,
                PendingAtEnd = run.AtEnd,
                DrainAfterLoad = run.Drain,
                PendingLeft = run.Left,
            };
            BenchProgram.Log($"push-latency: {result}");
            return result;
        }
        finally
        {
            foreach (var sender in senders)
            {
                await sender.DisposeAsync();
            }

            foreach (var (service, _) in instances)
            {
                await service.DisposeAsync();
            }
        }
    }

    /// <summary>Messages from the vet for <paramref name="duration"/> at this instance's share of the rate, round the recipients.</summary>
    private static (List<string> Ids, List<byte[]> Requests) Messages(Uri url, string tag, TimeSpan duration)
    {
        var ids = Enumerable.Range(0, (int)(Rate / Instances * duration.TotalSeconds)).Select(i => $"push-{tag}-{i}").ToList();
        return (ids, [.. ids.Select((id, i) => BenchProgram.PacedWebhook(url, id, i % Recipients, senderId: "vet-bench"))]);
    }

    /// <summary>A Google service-account key whose token endpoint is the stand-in's (it accepts any signed assertion).</summary>
    private static async Task<string> WriteServiceAccountAsync(string work, Uri fcm)
    {
        using var key = RSA.Create(2048);
        var path = Path.Combine(work, "fcm-service-account.json");
        await File.WriteAllTextAsync(path, new JsonObject
        {
            ["type"] = "service_account",
            ["project_id"] = ProjectId,
            ["private_key_id"] = "bench-key",
            ["private_key"] = key.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = $"push@{ProjectId}.iam.gserviceaccount.com",
            ["client_id"] = "1",
            ["token_uri"] = new Uri(fcm, "token").ToString(),
        }.ToJsonString());
        return path;
    }

    /// <summary>One device for each pet owner, registered through the API as the app does.</summary>
    private static async Task RegisterDevicesAsync(IReadOnlyList<Uri> instances)
    {
        using var http = new HttpClient();
        for (var i = 0; i < Recipients; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(instances[i % instances.Count], "api/devices"))
            {
                Content = JsonContent.Create(new { token = $"bench-device-{i}", platform = "android" }),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Credentials.Jwt($"owner-{i}", "pet-owner"));
            (await http.SendAsync(request)).EnsureSuccessStatusCode();
        }
    }

    /// <summary>Waits until no webhook and no push is pending (every push sent), for at most two minutes; returns what is left.</summary>
    private static async Task<Pending> WaitUntilDoneAsync(BenchDatabase database)
    {
        var waiting = Stopwatch.StartNew();
        while (await Pending.AnyAsync(database) && waiting.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(50);
        }

        return await Pending.CountAsync(database);
    }

    /// <summary>When each push reached the stand-in, by message id (the first, should one arrive twice).</summary>
    private static async Task<Dictionary<string, double>> ArrivalsAsync(Uri fcm)
    {
        using var http = new HttpClient();
        var arrivals = new Dictionary<string, double>();
        foreach (var line in (await http.GetStringAsync(new Uri(fcm, "arrivals"))).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var (messageId, unixMs) = (line[..line.LastIndexOf(' ')], double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
            arrivals.TryAdd(messageId, unixMs);
        }

        return arrivals;
    }

    private static double UnixMs(DateTime utc) => (utc - DateTime.UnixEpoch).TotalMilliseconds;
}

/// <summary>Webhooks stored and not yet processed, and pushes queued and not yet sent.</summary>
internal readonly record struct Pending(long Webhooks, long Pushes)
{
    public bool None => Webhooks == 0 && Pushes == 0;

    public static async Task<Pending> CountAsync(BenchDatabase database) => new(
        await database.CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"Status\" = 'pending'"),
        await database.CountAsync("SELECT count(*) FROM notification_outbox WHERE \"Status\" = 'pending'"));

    /// <summary>
    /// Whether anything is pending, as cheaply as PostgreSQL can say: a count reads every pending row (tens of
    /// thousands when the instances fall behind), CPU taken from the instances being measured 20 times a second.
    /// </summary>
    public static async Task<bool> AnyAsync(BenchDatabase database) => await database.CountAsync("""
        SELECT (EXISTS (SELECT 1 FROM webhook_inbox WHERE "Status" = 'pending')
            OR EXISTS (SELECT 1 FROM notification_outbox WHERE "Status" = 'pending'))::int
        """) > 0;

    public override string ToString() => $"{Webhooks:N0} webhooks and {Pushes:N0} pushes";
}

/// <summary>
/// What the push-latency scenario measured: messages sent, pushes received for them, the latency from each message
/// sent to its push received, the backlog when the load stopped and CPU per message (from the load's start until
/// the last push: the time the pushes took is part of what a message costs).
/// </summary>
internal sealed record PushLatencyRun(
    long Sent, long Pushed, double PushesPerSecond, double P50Ms, double P99Ms, double MaxMs, WrkResult Webhooks,
    double ServiceMicroseconds, double PostgresMicroseconds, double LoadMicroseconds, double MachineCores, double StolenCores, TimeSpan WarmUp)
{
    public bool TargetMet => P99Ms <= PushLatency.TargetP99Ms && Pushed == Sent && Webhooks.Errors == 0;

    /// <summary>What was pending when the measured load started: the warm-up's, if it had not all been sent after two minutes.</summary>
    public Pending PendingAtStart { get; init; }

    public Pending PendingAtEnd { get; init; }

    /// <summary>From the end of the load until nothing was pending, or two minutes.</summary>
    public TimeSpan DrainAfterLoad { get; init; }

    /// <summary>Still pending after <see cref="DrainAfterLoad"/>: nothing, unless the two minutes ran out.</summary>
    public Pending PendingLeft { get; init; }

    public static PushLatencyRun From(Dictionary<string, double> sent, Dictionary<string, double> arrivals, WrkResult webhooks, CpuUse cpu, TimeSpan measured, TimeSpan warmUp)
    {
        var latencies = sent.Where(s => arrivals.ContainsKey(s.Key)).Select(s => arrivals[s.Key] - s.Value).Order().ToArray();
        double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Length) - 1, 0, latencies.Length - 1)];
        var pushed = sent.Keys.Count(arrivals.ContainsKey);
        // Every push received from the first message on, the warm-up's still pending among them: the rate the instances push at.
        var first = sent.Values.DefaultIfEmpty().Min();
        var since = arrivals.Values.Where(t => t >= first).ToList();
        var span = since.Count == 0 ? 0 : (since.Max() - first) / 1000;
        double PerMessage(double cores) => sent.Count == 0 ? 0 : cores * measured.TotalSeconds * 1e6 / sent.Count;
        return new PushLatencyRun(sent.Count, pushed, span > 0 ? since.Count / span : 0, Percentile(0.50), Percentile(0.99), latencies.LastOrDefault(), webhooks,
            PerMessage(cpu.Service), PerMessage(cpu.Postgres), PerMessage(cpu.Load), cpu.Machine, cpu.Stolen, warmUp);
    }

    private static string F(double value, string format = "F0") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>A latency in ms, or a dash when no push arrived to have one.</summary>
    private string Ms(double value) => Pushed == 0 ? "–" : F(value, "F1");

    public string Measured => $"p99 {Ms(P99Ms)} ms (p50 {Ms(P50Ms)}, max {Ms(MaxMs)}); {Pushed:N0} of {Sent:N0} messages pushed";

    public override string ToString() => $"{Sent:N0} messages sent at {F(Webhooks.RequestsPerSecond)}/s, {Pushed:N0} pushed, {F(PushesPerSecond)} pushes/s: p50 {Ms(P50Ms)} ms, p99 {Ms(P99Ms)} ms, max {Ms(MaxMs)} ms; pending at the start {PendingAtStart}, at the end {PendingAtEnd}, {PendingLeft} {F(DrainAfterLoad.TotalSeconds, "F2")} s later";

    /// <summary>The report's section.</summary>
    public void AppendTo(StringBuilder md)
    {
        md.AppendLine("## Push latency on PostgreSQL");
        md.AppendLine();
        md.AppendLine($"From a signed `message.new` written to the service to the FCM request for its message arriving, at a steady {PushLatency.Rate:N0} messages/s split");
        md.AppendLine($"evenly between {PushLatency.Instances} instances on one PostgreSQL; each message is from the vet to a pet owner with one device, so one push. FCM is");
        md.AppendLine("`bench/Ceiling fake-fcm`, which answers at once (Google's own time is not in these figures). Both moments are read from the machine's UTC clock.");
        md.AppendLine();
        md.AppendLine("| messages sent | offered/s | pushes received | pushes/s | p50 ms | p99 ms | max ms | webhook acknowledgement p99 ms | errors |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        md.AppendLine($"| {Sent:N0} | {F(Webhooks.RequestsPerSecond)} | {Pushed:N0} | {F(PushesPerSecond)} | {Ms(P50Ms)} | {Ms(P99Ms)} | {Ms(MaxMs)} | {F(Webhooks.P99Ms, "F1")} | {Webhooks.Errors} |");
        md.AppendLine();
        md.AppendLine($"- Warm-up: {F(WarmUp.TotalSeconds)} s at the same rate; pending when the measured load started (the warm-up's, waited for up to two minutes): {PendingAtStart}.");
        md.AppendLine($"- Pending when the load stopped: {PendingAtEnd}; {F(DrainAfterLoad.TotalSeconds, "F2")} s later: {PendingLeft}.");
        md.AppendLine("- Pushes/s: every push received from the first message sent to the last push (the warm-up's still pending among them): the rate the instances push at.");
        md.AppendLine($"- CPU per message, from the load's start to the last push{(PendingAtStart.None ? "" : " (with the warm-up's pending pushes sent meanwhile)")}: the {PushLatency.Instances} instances {F(ServiceMicroseconds)} µs, PostgreSQL {F(PostgresMicroseconds)} µs, the load generator {F(LoadMicroseconds)} µs; the machine was {F(MachineCores, "F2")} cores busy, the host took {F(StolenCores, "F2")}.");
        md.AppendLine($"- Target p99 ≤ {PushLatency.TargetP99Ms:F0} ms, every message pushed: {(TargetMet ? "met" : "**not met**")}.");
        md.AppendLine();
    }
}
