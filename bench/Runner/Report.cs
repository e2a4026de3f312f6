using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace AppointmentChat.Bench;

/// <summary>Writes bench/results/latest.md (tables, targets, machine, commit) and latency.svg.</summary>
internal sealed class Report(BenchOptions options)
{
    /// <summary>The ceiling's measurements; null when no scenario compared with it ran.</summary>
    public CeilingResult? Ceiling { get; set; }

    public List<ScenarioRun> Runs { get; } = [];

    public List<ScalingResult>? Scaling { get; set; }

    public RushRun? Rush { get; set; }

    public PushLatencyRun? PushLatency { get; set; }

    private readonly List<(string Target, string Measured, bool Met)> _targets = [];
    private readonly List<(string Target, string Measured, bool Met)> _informational = [];

    public bool AllTargetsMet => _targets.All(t => t.Met);

    private static string F(double value, string format = "F0") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>What a run's scenarios are compared with: the ceiling rounds measured during its token rounds, else every round.</summary>
    private double Reference(ScenarioRun run) => (run.CeilingRounds.Count > 0 ? WrkResult.Median(run.CeilingRounds) : Ceiling!.Token).RequestsPerSecond;

    private static string Ratio(double rps, double reference) => F(rps / reference, "F2") + "×";

    /// <summary>" (medians of N rounds: req/s …; p99 …)" for a measurement taken in rounds, or nothing for one run.</summary>
    private static string ListRounds(List<WrkResult> rounds) => rounds.Count < 2 ? "" :
        $" (medians of {rounds.Count} rounds: {string.Join(", ", rounds.Select(r => F(r.RequestsPerSecond)))} req/s; p99 {string.Join(", ", rounds.Select(r => F(r.P99Ms, "F1")))} ms)";

    public async Task<string> MarkdownAsync()
    {
        var md = new StringBuilder();
        md.AppendLine("# Benchmark results");
        md.AppendLine();
        md.AppendLine($"Written by `bench/run` on {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, commit `{await CommandAsync("git", "rev-parse --short HEAD")}`{(await CommandAsync("git", "status --porcelain --untracked-files=no -- . :!bench/results") is { Length: > 0 } ? " (with uncommitted changes)" : "")}.");
        md.AppendLine($"Options: {F(options.Duration.TotalSeconds)} s per measurement, {options.Connections} connections, databases: {string.Join(", ", options.Databases)}, scenarios: {string.Join(", ", options.Scenarios)}; load from `wrk` ({await CommandAsync("sh", "-c \"wrk -v 2>&1 | head -n 1\"")}) on the same machine.");
        md.AppendLine();
        md.AppendLine("## Machine");
        md.AppendLine();
        md.AppendLine($"- CPU: {await CommandAsync("sh", "-c \"grep -m1 'model name' /proc/cpuinfo | cut -d: -f2\"")} — {Environment.ProcessorCount} cores");
        md.AppendLine($"- Memory: {await CommandAsync("sh", "-c \"grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2-\"")}");
        md.AppendLine($"- OS: {await CommandAsync("sh", "-c \". /etc/os-release; echo $PRETTY_NAME\"")}, kernel {await CommandAsync("uname", "-r")}; {RuntimeInformation.FrameworkDescription}");
        md.AppendLine($"- PostgreSQL: {await CommandAsync("sh", "-c \"psql --version 2>/dev/null || echo not installed\"")}");
        md.AppendLine();
        if (Ceiling is not null)
        {
            md.AppendLine("## The ceiling");
            md.AppendLine();
            md.AppendLine("`bench/Ceiling` does only the irreducible work of `POST /api/chat/token` — validate the bearer JWT with the");
            md.AppendLine("same library and parameters, sign an HS256 token — on bare Kestrel. Every scenario is reported as a ratio to it.");
            md.AppendLine();
            md.AppendLine($"It runs for the whole benchmark and is measured again before each round of the token scenario (rounds of {F(options.Duration.TotalSeconds)} s; it warmed up for {F(Ceiling.WarmUp.TotalSeconds)} s); each database's scenarios are compared with the median of the rounds measured between its own token rounds (a shared VM's speed can change within a run), or with the median of all rounds when its token scenario did not run.");
            md.AppendLine();
            md.AppendLine($"| | req/s | p50 ms | p99 ms | peak RSS |");
            md.AppendLine("|---|---|---|---|---|");
            md.AppendLine($"| ceiling, {Ceiling.Token.Connections} connections, median of {Ceiling.Rounds.Count} rounds ({string.Join(", ", Ceiling.Rounds.Select(r => F(r.RequestsPerSecond)))}) | {F(Ceiling.Token.RequestsPerSecond)} | {F(Ceiling.Token.P50Ms, "F2")} | {F(Ceiling.Token.P99Ms, "F2")} | {F(Ceiling.PeakRssMiB)} MiB |");
            md.AppendLine();
            md.AppendLine($"Cores the VM's host took from this machine during each ceiling round (steal, from /proc/stat; a round the host slowed measures lower): {string.Join(", ", Ceiling.Rounds.Select(r => F(r.Cpu?.Stolen ?? 0, "F2")))}.");
            md.AppendLine();
        }

        foreach (var run in Runs)
        {
            var name = run.Database == "sqlite" ? "SQLite" : "PostgreSQL";
            // SQLite is the embedded default for development and single small deployments: correct, durable, and webhooks
            // at 1,000/s with p99 within 25 ms are its targets; its throughput ratios are reported, not targeted.
            var embedded = run.Database == "sqlite";
            var steadyRate = BenchProgram.PacedWebhookRate(run.Database);
            var steadyRateText = steadyRate.ToString("N0", CultureInfo.InvariantCulture);
            md.AppendLine($"## Scenarios on {name}");
            md.AppendLine();
            var reference = Reference(run);
            if (run.CeilingRounds.Count > 0)
            {
                md.AppendLine($"Ratios to the ceiling as measured between this database's token rounds: {F(reference)} req/s (median of {string.Join(", ", run.CeilingRounds.Select(r => F(r.RequestsPerSecond)))}).");
                md.AppendLine();
            }

            md.AppendLine("| scenario | req/s | × ceiling | p50 ms | p99 ms | errors |");
            md.AppendLine("|---|---|---|---|---|---|");
            Row(md, reference, $"`POST /api/chat/token` (median of {run.TokenRounds.Count} rounds: {string.Join(", ", run.TokenRounds.Select(r => F(r.RequestsPerSecond)))})", run.Token);
            Row(md, reference, "`POST /api/chat/channels`, existing chat", run.OpenChat);
            Row(md, reference, $"`GET /api/chat/channels?limit=30`, vet with 1,000 chats, 1,000 stored{ListRounds(run.ListSmallRounds)}", run.ListSmall);
            Row(md, reference, $"`GET /api/chat/channels?limit=30`, vet with {run.VetChats:N0} chats, {run.StoredChats:N0} stored{ListRounds(run.ListLargeRounds)}", run.ListLarge);
            Row(md, reference, "`POST /api/webhooks/stream`, signed `message.new`, as fast as answered", run.Webhooks?.Saturated);
            Row(md, reference, $"`POST /api/webhooks/stream`, signed `message.new`, steady {steadyRateText}/s (latency from when each was due; median p99 of {run.Webhooks?.SteadyRounds.Count} rounds: {string.Join(", ", run.Webhooks?.SteadyRounds.Select(r => F(r.Load.P99Ms, "F1") + " ms") ?? [])})", run.Webhooks?.Steady);
            md.AppendLine();
            CpuTable(md, [
                ("the ceiling, between this database's token rounds (median round; its process in the service's column)", run.CeilingRounds.Count > 0 ? WrkResult.Median(run.CeilingRounds) : null),
                ("tokens (median round)", run.Token),
                ("opening an existing chat", run.OpenChat),
                ("list, 1,000 stored (median round)", run.ListSmall),
                ($"list, {run.StoredChats:N0} stored (median round)", run.ListLarge),
                ("webhooks as fast as answered", run.Webhooks?.Saturated),
                ($"webhooks at a steady {steadyRateText}/s (median round)", run.Webhooks?.Steady),
            ]);
            if (run.WarmUps.Count > 0)
            {
                md.AppendLine($"- Warm-up before each measured scenario, with its own load: {string.Join(", ", run.WarmUps.Select(w => $"{w.Scenario} {F(w.Length.TotalSeconds)} s"))} (at least {F(Warming.Least.TotalSeconds)} s, and on while the service's tiered JIT still compiled, up to {F(Warming.Most.TotalSeconds)} s).");
            }

            md.AppendLine($"- Start to `/health/ready`: {F(run.StartToReady.TotalMilliseconds)} ms (first start on an empty database, migrations included: {F(run.FirstStartToReady.TotalMilliseconds)} ms).");
            Target($"{name}: start to /health/ready ≤ 3 s", $"{F(run.StartToReady.TotalSeconds, "F2")} s", run.StartToReady.TotalSeconds <= 3);
            if (run.Token is { } token)
            {
                md.AppendLine($"- Peak memory (RSS) after the token scenario: {F(run.PeakRssMiB)} MiB.");
                Target($"{name}: token ≥ 0.75× ceiling", embedded, Ratio(token.RequestsPerSecond, reference), token.RequestsPerSecond >= 0.75 * reference);
                Target($"{name}: token p99 ≤ 10 ms at {token.Connections} connections", $"{F(token.P99Ms, "F2")} ms", token.P99Ms <= 10);
                Target($"{name}: peak RSS under the token load ≤ 250 MB", $"{F(run.PeakRssMiB * 1.048576)} MB", run.PeakRssMiB * 1.048576 <= 250);
            }

            if (run.OpenChat is { } open)
            {
                md.AppendLine($"- Stream calls made while opening existing chats: {run.StreamCallsWhileOpening}.");
                Target($"{name}: opening an existing chat makes no Stream call", run.StreamCallsWhileOpening.ToString(CultureInfo.InvariantCulture), run.StreamCallsWhileOpening == 0);
                Target($"{name}: opening an existing chat ≥ 0.35× ceiling", embedded, Ratio(open.RequestsPerSecond, reference), open.RequestsPerSecond >= 0.35 * reference);
            }

            if (run is { ListSmall: { } small, ListLarge: { } large })
            {
                md.AppendLine($"- Seeding 999,000 chats took {F(run.SeedSeconds, "F1")} s.");
                Target($"{name}: list p99 with 1,000,000 stored ≤ 1.5× with 1,000", embedded, $"{F(large.P99Ms, "F2")} / {F(small.P99Ms, "F2")} ms = {F(large.P99Ms / small.P99Ms, "F2")}×", large.P99Ms <= 1.5 * small.P99Ms);
                Target($"{name}: list ≥ 0.25× ceiling", embedded, Ratio(large.RequestsPerSecond, reference), large.RequestsPerSecond >= 0.25 * reference);
            }

            if (run.Webhooks is { } webhooks)
            {
                var (burst, steady) = (webhooks.SaturatedDrain, webhooks.SteadyDrain);
                md.AppendLine($"- Webhooks as fast as answered: {burst.Received:N0} stored in {F(options.Duration.TotalSeconds)} s; {F(burst.BacklogAtEnd)} still pending when the load stopped, all processed {F(burst.DrainAfterLoad.TotalSeconds, "F2")} s later ({F(burst.ProcessedPerSecond)} events/s processed from the start of the load).");
                md.AppendLine($"- Webhooks at a steady {steadyRateText}/s, round by round: {string.Join("; ", webhooks.SteadyRounds.Select(r => $"{r.Drain.Received:N0} stored, p99 {F(r.Load.P99Ms, "F1")} ms, {F(r.Drain.BacklogAtEnd)} still pending when the load stopped, all processed {F(r.Drain.DrainAfterLoad.TotalSeconds, "F2")} s later"))}.");
                if (embedded)
                {
                    Target($"{name}: webhooks ≥ 1,000/s acknowledged", $"{F(webhooks.Saturated.RequestsPerSecond)}/s at capacity", webhooks.Saturated.RequestsPerSecond >= 1000 && webhooks.Saturated.Errors == 0);
                }

                Target($"{name}: webhooks ≥ 3,000/s acknowledged", embedded, $"{F(webhooks.Saturated.RequestsPerSecond)}/s at capacity; {F(webhooks.Steady.RequestsPerSecond)}/s offered steadily, {webhooks.Steady.Errors} errors",
                    webhooks.Saturated.RequestsPerSecond >= 3000 && webhooks.Steady.RequestsPerSecond >= 0.98 * steadyRate && webhooks.Steady.Errors == 0 && webhooks.Saturated.Errors == 0);
                Target($"{name}: webhook p99 ≤ 25 ms at {steadyRateText}/s", $"{F(webhooks.Steady.P99Ms, "F2")} ms", webhooks.Steady.P99Ms <= 25);
                Target($"{name}: the inbox drains at least as fast as it fills at {steadyRateText}/s (backlog when the load stops < 1 s of arrivals)", $"{F(steady.BacklogAtEnd)} pending vs {F(webhooks.Steady.RequestsPerSecond)}/s arriving", steady.BacklogAtEnd < webhooks.Steady.RequestsPerSecond);
            }

            md.AppendLine();
        }

        if (Rush is { } rush)
        {
            RushSection(md, rush);
        }

        if (PushLatency is { } push)
        {
            push.AppendTo(md);
            Target("PostgreSQL, three instances: push p99 ≤ 250 ms at 1,000 messages/s", push.Measured, push.TargetMet);
        }

        md.AppendLine("## Targets");
        md.AppendLine();
        md.AppendLine("| target | measured | met |");
        md.AppendLine("|---|---|---|");
        foreach (var (target, measured, met) in _targets)
        {
            md.AppendLine($"| {target} | {measured} | {(met ? "yes" : "**no**")} |");
        }

        if (_informational.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("For information (SQLite, the embedded default: its targets are correctness, durability and webhooks at 1,000/s):");
            md.AppendLine();
            md.AppendLine("| figure | measured | within the PostgreSQL target |");
            md.AppendLine("|---|---|---|");
            foreach (var (target, measured, met) in _informational)
            {
                md.AppendLine($"| {target} | {measured} | {(met ? "yes" : "no")} |");
            }
        }

        if (Ceiling is not null)
        {
            md.AppendLine();
            md.AppendLine("## Latency against load");
            md.AppendLine();
            md.AppendLine("![latency against load](latency.svg)");
            md.AppendLine();
            md.AppendLine("| connections | ceiling req/s | ceiling p99 ms | " + string.Join(" | ", Runs.Select(r => $"{r.Database} req/s | {r.Database} p99 ms")) + " |");
            md.AppendLine("|---|---|---|" + string.Concat(Runs.Select(_ => "---|---|")));
            for (var i = 0; i < Ceiling.Curve.Count; i++)
            {
                md.AppendLine($"| {Ceiling.Curve[i].Connections} | {F(Ceiling.Curve[i].RequestsPerSecond)} | {F(Ceiling.Curve[i].P99Ms, "F2")} | "
                    + string.Join(" | ", Runs.Select(r => i < r.TokenCurve.Count ? $"{F(r.TokenCurve[i].RequestsPerSecond)} | {F(r.TokenCurve[i].P99Ms, "F2")}" : "– | –")) + " |");
            }
        }

        if (Scaling is { Count: > 0 })
        {
            md.AppendLine();
            md.AppendLine("## Scale beyond one machine");
            md.AppendLine();
            md.AppendLine("One to three instances on this machine, one PostgreSQL, the load split evenly between them:");
            md.AppendLine();
            md.AppendLine("| instances | token req/s | token p99 ms | webhooks at capacity/s | p99 ms | backlog at the end | steady 3,000/s: p99 ms | backlog at the end |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var s in Scaling)
            {
                var w = s.Webhooks;
                md.AppendLine($"| {s.Instances} | {F(s.Token.RequestsPerSecond)} | {F(s.Token.P99Ms, "F2")} | {F(w.Saturated.RequestsPerSecond)} | {F(w.Saturated.P99Ms, "F2")} | {F(w.SaturatedDrain.BacklogAtEnd)} | {F(w.Steady.P99Ms, "F2")} | {F(w.SteadyDrain.BacklogAtEnd)} |");
            }

            var (one, three) = (Scaling[0], Scaling[^1]);
            md.AppendLine();
            md.AppendLine($"On one machine more instances cannot add CPU: three instances answered tokens at {F(three.Token.RequestsPerSecond / one.Token.RequestsPerSecond, "F2")}× the rate of one and");
            md.AppendLine($"acknowledged webhooks at {F(three.Webhooks.Saturated.RequestsPerSecond / one.Webhooks.Saturated.RequestsPerSecond, "F2")}× — the two cores were already busy with one instance, wrk and PostgreSQL. What the runs show is");
            md.AppendLine("that instances share the work correctly (each webhook processed once, by whichever instance claims it; claims of the");
            md.AppendLine("inbox pass over the events another instance is claiming, so the backlog at the end stays small) and that nothing");
            md.AppendLine("in an instance limits the next: the token path touches neither the database nor the network, so on separate machines");
            md.AppendLine("it grows with the number of instances (the ceiling run gives one machine's share); rate limits are shared through Redis.");
            md.AppendLine();
            md.AppendLine("Where it stops growing:");
            md.AppendLine();
            md.AppendLine("- **Database writes per webhook.** A `message.new` costs PostgreSQL one inbox insert (grouped with the others");
            md.AppendLine("  that arrived meanwhile), two updates of its inbox row (the claim's lease, written beside the old row version");
            md.AppendLine("  without new index entries, and \"processed\"), its share of one `UPDATE … FROM (VALUES …)` of the chats' last");
            md.AppendLine("  messages per batch, and one outbox insert per push: the CPU tables above give what that costs PostgreSQL per");
            md.AppendLine("  webhook. Instances add receivers and processors but not database capacity: past a few thousand events per");
            md.AppendLine("  second per core of PostgreSQL, the next step is a bigger database");
            md.AppendLine("  server (the inbox, outbox and appointments tables are the write load), then partitioning the inbox by channel.");
            md.AppendLine("- **Stream's own limits, per minute for the whole app:** upsert users 300, send message 1,000 (query channels 10,000).");
            md.AppendLine("  The service calls Stream only when something changes: a user is upserted when new to Stream or renamed (it");
            md.AppendLine("  remembers what it sent, and one request carries the pet owner, the vet and the system user), so 300 upserts a");
            md.AppendLine("  minute allow 300 first chats a minute between people Stream has never seen, and any number between people it");
            md.AppendLine("  knows; opening an existing chat, listing chats, tokens and webhooks make no Stream call. The service sends one");
            md.AppendLine("  message per ended chat (1,000 a minute), the apps send the conversation directly to Stream. A 429 is honoured");
            md.AppendLine("  (`Retry-After`/`X-RateLimit-Reset`): a caller gets 503 with `Retry-After`, and the window scheduler retries its");
            md.AppendLine("  freezes and unfreezes later with backoff, so a burst is spread out instead of failing.");
        }

        var findings = Path.Combine(options.Root, "bench", "findings.md");
        if (File.Exists(findings))
        {
            md.AppendLine();
            md.Append(await File.ReadAllTextAsync(findings));
        }

        return md.ToString();
    }

    /// <summary>The morning rush: each chat's lateness, and the whole rush, against the schedule the paced budget allows.</summary>
    private void RushSection(StringBuilder md, RushRun rush)
    {
        var (interval, slack) = (Bench.Rush.Interval.TotalSeconds, Bench.Rush.Slack.TotalSeconds);
        string Quantiles(IReadOnlyList<double> sorted) => string.Join(" / ", new[] { 0.5, 0.99, 1 }.Select(p => F(RushRun.Percentile(sorted, p), "F1"))) + " s";
        md.AppendLine("## A morning rush on PostgreSQL");
        md.AppendLine();
        md.AppendLine($"{rush.Chats:N0} chats fall due within one minute, a group each second from {rush.Start:HH:mm:ss} UTC, on {Bench.Rush.Instances} instances sharing one");
        md.AppendLine("PostgreSQL, against Stream's documented limits (the emulator's; the chats were made beforehand with them raised). Opening");
        md.AppendLine("a chat is one partial channel update, counted against Update Channel (300 a minute); the schedulers take turns for it");
        md.AppendLine($"shared in the database at 80 % of that, one every {F(interval, "F2")} s, earliest due first. The theoretical schedule is that queue: the");
        md.AppendLine($"k-th chat due opens at its due time or one turn after the one before, whichever is later; when the turns never catch up");
        md.AppendLine($"with the due times the whole rush takes N × {F(interval, "F2")} s. The service runs with its defaults.");
        md.AppendLine();
        md.AppendLine("| | measured |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| chats opened (opened more than once) | {rush.Opened:N0} of {rush.Chats:N0} ({rush.OpenedTwice}) |");
        md.AppendLine($"| paced interval: the service's; measured (first to last opening over the openings between) | {F(interval, "F3")} s; {F(rush.MeasuredInterval.TotalSeconds, "F3")} s |");
        md.AppendLine($"| each chat's lateness after its own due time, p50 / p99 / max: measured; theoretical | {Quantiles(rush.LatenessSeconds)}; {Quantiles(rush.TheoreticalLatenessSeconds)} |");
        md.AppendLine($"| first due to last opening, against the theoretical bound | {F(rush.FirstDueToLastOpened.TotalSeconds, "F1")} s against {F(rush.Bound.TotalSeconds, "F1")} s ({F(rush.FirstDueToLastOpened / rush.Bound, "F3")}×) |");
        md.AppendLine($"| chats opened later than their turn (the k-th to open by the k-th turn of the schedule, plus one turn and {F(slack)} s) | {rush.LaterThanTurn} |");
        md.AppendLine($"| openings in the busiest second / minute (Stream allows 10 / 300) | {rush.BusiestSecond} / {rush.BusiestMinute} |");
        md.AppendLine($"| Stream calls refused from the first due on (status ≥ 400; of them 429) | {rush.Refused} ({rush.RateLimited}) |");
        md.AppendLine($"| instances whose output shows the circuit breaker opening (`OnCircuitOpened`, `BrokenCircuit`) | {rush.InstancesWithBreakerOpened} |");
        md.AppendLine($"| making the chats, limits raised: per chat in the timing round; all {rush.Chats:N0} | {F(rush.PerChatMade.TotalMilliseconds)} ms; {F(rush.Made.TotalSeconds)} s |");
        md.AppendLine();
        Target("PostgreSQL rush: every chat opened, once", $"{rush.Opened:N0} of {rush.Chats:N0}, {rush.OpenedTwice} twice", rush.Opened == rush.Chats && rush.OpenedTwice == 0);
        Target($"PostgreSQL rush: each chat opened by its turn (+ one turn and {F(slack)} s)", $"{rush.LaterThanTurn} later", rush.LaterThanTurn == 0);
        Target("PostgreSQL rush: no Stream call refused", rush.Refused.ToString(CultureInfo.InvariantCulture), rush.Refused == 0);
        Target("PostgreSQL rush: the circuit breaker never opens", $"{rush.InstancesWithBreakerOpened} instance(s)", rush.InstancesWithBreakerOpened == 0);
    }

    private static void Row(StringBuilder md, double reference, string name, WrkResult? r)
    {
        if (r is not null)
        {
            md.AppendLine($"| {name} | {F(r.RequestsPerSecond)} | {Ratio(r.RequestsPerSecond, reference)} | {F(r.P50Ms, "F2")} | {F(r.P99Ms, "F2")} | {r.Errors} |");
        }
    }

    private void Target(string target, string measured, bool met) => _targets.Add((target, measured, met));

    /// <summary>A figure reported for <paramref name="target"/> that is only information here (<paramref name="informational"/>), not a target.</summary>
    private void Target(string target, bool informational, string measured, bool met)
    {
        if (informational)
        {
            _informational.Add((target, measured, met));
        }
        else
        {
            Target(target, measured, met);
        }
    }

    /// <summary>Where the CPU went in each run: per request for each side, and how busy the machine was.</summary>
    private static void CpuTable(StringBuilder md, IEnumerable<(string Name, WrkResult? Run)> runs)
    {
        var measured = runs.Where(r => r.Run?.Cpu is not null).ToList();
        if (measured.Count == 0)
        {
            return;
        }

        md.AppendLine($"CPU per request (from /proc; every process shares the same {Environment.ProcessorCount} cores):");
        md.AppendLine();
        md.AppendLine("| run | req/s | service µs | PostgreSQL µs | load generator µs | machine busy (cores) | taken by the host (cores) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (name, run) in measured)
        {
            var (cpu, rps) = (run!.Cpu!, run.RequestsPerSecond);
            md.AppendLine($"| {name} | {F(rps)} | {F(CpuUse.PerRequestMicroseconds(cpu.Service, rps))} | {F(CpuUse.PerRequestMicroseconds(cpu.Postgres, rps))} | {F(CpuUse.PerRequestMicroseconds(cpu.Load, rps))} | {F(cpu.Machine, "F2")} | {F(cpu.Stolen, "F2")} |");
        }

        md.AppendLine();
    }

    /// <summary>p50 and p99 latency against connections, for the ceiling and the service on each database (the ceiling ran).</summary>
    public string Chart()
    {
        var ceiling = Ceiling ?? throw new InvalidOperationException("The chart compares with the ceiling, which did not run.");
        const int width = 900, height = 500, left = 70, right = 200, top = 40, bottom = 60;
        var series = new List<(string Name, string Color, bool Dashed, List<(int X, double Y)> Points)>
        {
            ("ceiling p50", "#888", true, ceiling.Curve.Select(r => (r.Connections, r.P50Ms)).ToList()),
            ("ceiling p99", "#888", false, ceiling.Curve.Select(r => (r.Connections, r.P99Ms)).ToList()),
        };
        string[] colors = ["#1f77b4", "#d62728"];
        for (var i = 0; i < Runs.Count; i++)
        {
            series.Add(($"{Runs[i].Database} p50", colors[i % 2], true, Runs[i].TokenCurve.Select(r => (r.Connections, r.P50Ms)).ToList()));
            series.Add(($"{Runs[i].Database} p99", colors[i % 2], false, Runs[i].TokenCurve.Select(r => (r.Connections, r.P99Ms)).ToList()));
        }

        var maxY = Math.Max(1, series.SelectMany(s => s.Points).Max(p => p.Y) * 1.1);
        var xs = ceiling.Curve.Select(r => r.Connections).ToList();
        double X(int connections) => left + (Math.Log2(connections) - Math.Log2(xs[0])) / (Math.Log2(xs[^1]) - Math.Log2(xs[0])) * (width - left - right);
        double Y(double ms) => height - bottom - ms / maxY * (height - top - bottom);

        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect width="{width}" height="{height}" fill="white"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{left}" y="24" font-size="15">POST /api/chat/token: latency against load (connections, log scale)</text>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>""");
        foreach (var x in xs)
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{X(x):F1}" y="{height - bottom + 18}" text-anchor="middle">{x}</text>""");
        }

        for (var i = 0; i <= 5; i++)
        {
            var ms = maxY * i / 5;
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{left}" y1="{Y(ms):F1}" x2="{width - right}" y2="{Y(ms):F1}" stroke="#eee"/><text x="{left - 8}" y="{Y(ms) + 4:F1}" text-anchor="end">{ms:F1}</text>""");
        }

        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{(left + width - right) / 2}" y="{height - 15}" text-anchor="middle">connections</text>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="18" y="{(top + height - bottom) / 2}" transform="rotate(-90 18 {(top + height - bottom) / 2})" text-anchor="middle">latency (ms)</text>""");
        for (var i = 0; i < series.Count; i++)
        {
            var (name, color, dashed, points) = series[i];
            var path = string.Join(" ", points.Select(p => $"{X(p.X):F1},{Y(p.Y):F1}"));
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{color}" stroke-width="2" {(dashed ? "stroke-dasharray=\"5,4\"" : "")} points="{path}"/>""");
            var ly = top + 20 + i * 20;
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{width - right + 15}" y1="{ly}" x2="{width - right + 45}" y2="{ly}" stroke="{color}" stroke-width="2" {(dashed ? "stroke-dasharray=\"5,4\"" : "")}/><text x="{width - right + 52}" y="{ly + 4}">{name}</text>""");
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static async Task<string> CommandAsync(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return output.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
