using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AppointmentChat.Bench;

/// <summary>
/// A morning rush (<c>--scenarios rush</c>, the steps of tests/…/Hardening/MorningRushTests.cs): chats fall due within
/// one minute on three instances sharing one PostgreSQL, against Stream's documented limits. Opening a chat at its edge is
/// one partial channel update, counted against Update Channel (300 a minute); the schedulers take turns for it shared in
/// the database at 80 % of that, one every 0.25 s, so N chats take N × 0.25 s: the bound each chat's lateness is read against.
/// </summary>
internal static class Rush
{
    public const int DefaultChats = 2_000;

    public const int Instances = 3;

    /// <summary>The service's defaults: Update Channel's documented 300 a minute, of which paced work takes 80 %.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1) / (300 * 0.8);

    /// <summary>Past its turn, what a chat may take on top: a claim and a few database round trips, as the test allows.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromSeconds(3);

    private const int Vets = 40;
    private const int Concurrency = 16;

    /// <summary>Every limit the making of chats counts against, raised while they are made (the rush is not that).</summary>
    private static readonly string[] LimitedEndpoints =
        ["UpdateUsers", "UpdateUsersPartial", "QueryUsers", "UpdateChannel", "GetOrCreateChannel", "QueryChannels", "SendMessage", "DeleteChannel", "GetApp", "MarkRead", "SendEvent", "UpdateMessage", "DeleteMessage", "StopWatchingChannel"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<RushRun> RunAsync(BenchOptions options, string work)
    {
        var chats = options.RushChats;
        BenchProgram.Log($"rush: {chats} chats due within a minute, {Instances} instances on one PostgreSQL");
        await using var database = await BenchDatabase.CreateAsync("postgres", work);
        using var emulator = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{BenchProgram.EmulatorPort}/_emulator/") };
        var instances = new List<(Proc Service, HttpClient Http)>();
        try
        {
            for (var i = 0; i < Instances; i++)
            {
                var port = Proc.FreePort();
                var (service, _) = await BenchProgram.StartServiceAsync(options, database, port);
                instances.Add((service, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") }));
            }

            await SettingsAsync(emulator, new JsonObject { ["webhookUrl"] = new Uri(instances[0].Http.BaseAddress!, "api/webhooks/stream").ToString() });

            // Making the morning's chats is not the rush: it runs with Stream's limits raised, and a first round of chats
            // due far off times it, so that the rush's chats are all made before the first of them falls due.
            await SettingsAsync(emulator, new JsonObject { ["rateLimits"] = new JsonObject(LimitedEndpoints.Select(e => KeyValuePair.Create(e, (JsonNode?)1_000_000))) });
            var tomorrow = DateTimeOffset.UtcNow.AddDays(1);
            await MakeChatsAsync(instances, [.. Enumerable.Range(0, 100).Select(i => (Id($"warm-{i}"), tomorrow))]);
            var making = Stopwatch.StartNew();
            await MakeChatsAsync(instances, [.. Enumerable.Range(0, 100).Select(i => (Id($"timed-{i}"), tomorrow))]);
            var perChat = making.Elapsed / 100;

            // The chats fall due over one minute, a group every second (appointments start on whole seconds), from the
            // start of a minute: the emulator counts calls in minutes aligned on Unix time, and the chats made with the
            // limits raised were counted in the minutes before, so the rush's minutes hold only the rush's calls.
            var earliest = DateTimeOffset.UtcNow + perChat * chats * 1.5 + TimeSpan.FromSeconds(15);
            var rushStart = DateTimeOffset.FromUnixTimeSeconds((earliest.ToUnixTimeSeconds() / 60 + 1) * 60);
            var rush = Enumerable.Range(0, chats).Select(i => (Appointment: Id($"rush-{i}"), Due: rushStart.AddSeconds(i * 60 / chats))).ToList();
            making.Restart();
            await MakeChatsAsync(instances, [.. rush.Select(r => (r.Appointment, r.Due.AddMinutes(60)))]);
            var made = making.Elapsed;
            BenchProgram.Log($"rush: made {chats} chats in {made.TotalSeconds:F0} s ({perChat.TotalMilliseconds:F0} ms each in the timing round); the rush starts in {(rushStart - DateTimeOffset.UtcNow).TotalSeconds:F0} s");
            if (DateTimeOffset.UtcNow > rushStart - TimeSpan.FromSeconds(2))
            {
                throw new InvalidOperationException($"rush: making {chats} chats took until {DateTimeOffset.UtcNow:O}, past the rush's start {rushStart:O}: the timing round underestimated it");
            }

            // The rush itself meets Stream's documented limits.
            await SettingsAsync(emulator, new JsonObject { ["rateLimits"] = new JsonObject() });
            var due = rush.ToDictionary(r => "/appointment-" + r.Appointment, r => r.Due, StringComparer.Ordinal);
            var deadline = rushStart + Interval * chats + TimeSpan.FromMinutes(2);
            var opened = 0;
            while (DateTimeOffset.UtcNow < deadline && (opened = (await CallsAsync(emulator, "UpdateChannelPartial")).Count(c => c.Status == 200 && due.ContainsKey(c.Channel))) < chats)
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
            }

            BenchProgram.Log($"rush: {opened} of {chats} chats opened {(DateTimeOffset.UtcNow - rushStart).TotalSeconds:F0} s after the first was due");
            await Task.Delay(TimeSpan.FromSeconds(2)); // nothing else should follow
            var calls = (await CallsAsync(emulator, null)).Where(c => c.At >= rushStart - TimeSpan.FromSeconds(1)).ToList();
            var breakers = instances.Count(i => i.Service.Output.Contains("OnCircuitOpened", StringComparison.Ordinal) || i.Service.Output.Contains("BrokenCircuit", StringComparison.Ordinal));
            var result = RushRun.From(rushStart, due, calls, breakers, perChat, made);
            BenchProgram.Log($"rush: {result}");
            return result;
        }
        finally
        {
            foreach (var (service, http) in instances)
            {
                http.Dispose();
                await service.DisposeAsync();
            }
        }
    }

    private static string Id(string name) => $"{name}-{Guid.NewGuid():N}"[..Math.Min(name.Length + 13, 52)];

    /// <summary>The appointments (via the PMS) and their chats (created by the pet owner), spread over the instances; each chat opens 60 minutes before its start.</summary>
    private static async Task MakeChatsAsync(List<(Proc Service, HttpClient Http)> instances, IReadOnlyList<(string Appointment, DateTimeOffset StartsAt)> chats)
    {
        var pms = new AuthenticationHeaderValue("Bearer", Credentials.Jwt("pms", "service"));
        using var gate = new SemaphoreSlim(Concurrency);
        await Task.WhenAll(chats.Select(async (chat, i) =>
        {
            await gate.WaitAsync();
            try
            {
                var http = instances[i % instances.Count].Http;
                var owner = "owner-" + chat.Appointment;
                var vet = $"rush-vet-{i % Vets}";
                var facts = new JsonObject
                {
                    ["petOwnerId"] = owner,
                    ["petOwnerName"] = "Alex Owner",
                    ["petName"] = "Rex",
                    ["vetId"] = vet,
                    ["vetName"] = "Dr. " + vet,
                    ["organisationId"] = "clinic-1",
                    ["startsAt"] = chat.StartsAt.ToString("O", CultureInfo.InvariantCulture),
                    ["durationMinutes"] = 30,
                    ["status"] = "upcoming",
                    ["chatActivationMinutes"] = 60,
                };
                await SendAsync(http, new HttpRequestMessage(HttpMethod.Put, $"api/appointments/{chat.Appointment}") { Content = JsonContent.Create(facts), Headers = { Authorization = pms } }, HttpStatusCode.Created);
                var create = new HttpRequestMessage(HttpMethod.Post, "api/chat/channels") { Content = JsonContent.Create(new { appointmentId = chat.Appointment }) };
                create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Credentials.Jwt(owner, "pet-owner"));
                await SendAsync(http, create, HttpStatusCode.OK);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private static async Task SendAsync(HttpClient http, HttpRequestMessage request, HttpStatusCode expected)
    {
        using (request)
        using (var response = await http.SendAsync(request))
        {
            if (response.StatusCode != expected)
            {
                throw new InvalidOperationException($"rush: {request.Method} {request.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }

    private static string Auth => $"api_key={Credentials.StreamKey}&authorization={Credentials.ServerToken()}&stream-auth-type=jwt";

    private static async Task SettingsAsync(HttpClient emulator, JsonObject settings)
    {
        using var response = await emulator.PutAsJsonAsync($"settings?{Auth}", settings);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<List<StreamCall>> CallsAsync(HttpClient emulator, string? endpoint)
    {
        var calls = await emulator.GetFromJsonAsync<CallList>($"calls?{Auth}{(endpoint is null ? "" : "&endpoint=" + endpoint)}", Json);
        return calls?.Calls ?? [];
    }

    private sealed record CallList(List<StreamCall> Calls);
}

/// <summary>A call the emulator answered: which endpoint, on what path, with what status, when.</summary>
internal sealed record StreamCall(string Endpoint, string Path, int Status, DateTimeOffset At)
{
    /// <summary>"/{channel id}" for a channel's endpoint: the path's last segment.</summary>
    public string Channel => Path[Path.LastIndexOf('/')..];
}

/// <summary>
/// What the rush measured: when each chat opened, against its own due time and against the theoretical schedule, the
/// paced queue served earliest due first (one turn per interval: the k-th chat in due order opens at its due time or a
/// turn after the one before, whichever is later).
/// </summary>
internal sealed record RushRun(
    int Chats,
    int Opened,
    int OpenedTwice,
    DateTimeOffset Start,
    IReadOnlyList<double> LatenessSeconds,
    IReadOnlyList<double> TheoreticalLatenessSeconds,
    TimeSpan FirstDueToLastOpened,
    TimeSpan Bound,
    TimeSpan MeasuredInterval,
    int LaterThanTurn,
    int BusiestSecond,
    int BusiestMinute,
    int Refused,
    int RateLimited,
    int InstancesWithBreakerOpened,
    TimeSpan PerChatMade,
    TimeSpan Made)
{
    /// <summary>The <paramref name="p"/> quantile (nearest rank) of <paramref name="sorted"/>; 1 is the maximum.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * p))];

    public static RushRun From(DateTimeOffset start, Dictionary<string, DateTimeOffset> due, List<StreamCall> calls, int breakers, TimeSpan perChat, TimeSpan made)
    {
        var openings = calls.Where(c => c.Endpoint == "UpdateChannelPartial" && c.Status == 200 && due.ContainsKey(c.Channel)).OrderBy(c => c.At).ToList();
        var opened = openings.DistinctBy(c => c.Channel).ToList();
        var refused = calls.Where(c => c.Status >= 400).ToList();

        // The theoretical schedule; with every chat due before the turns catch up, the last opens (N - 1) turns after the
        // first due, and the whole rush is bound by N turns.
        var dues = due.Values.Order().ToList();
        var ideal = new List<DateTimeOffset>(dues.Count);
        foreach (var d in dues)
        {
            ideal.Add(ideal.Count == 0 || d > ideal[^1] + Rush.Interval ? d : ideal[^1] + Rush.Interval);
        }

        // The k-th chat to open may open by the k-th turn of the theoretical schedule, one turn and a little more later.
        var laterThanTurn = opened.Where((c, k) => c.At > ideal[k] + Rush.Interval + Rush.Slack).Count();
        return new RushRun(
            dues.Count,
            opened.Count,
            openings.Count - opened.Count,
            start,
            [.. opened.Select(c => (c.At - due[c.Channel]).TotalSeconds).Order()],
            [.. ideal.Select((at, k) => (at - dues[k]).TotalSeconds).Order()],
            opened.Count > 0 ? opened[^1].At - start : TimeSpan.Zero,
            ideal.Count > 0 ? ideal[^1] + Rush.Interval - start : TimeSpan.Zero,
            opened.Count > 1 ? (opened[^1].At - opened[0].At) / (opened.Count - 1) : TimeSpan.Zero,
            laterThanTurn,
            opened.Count > 0 ? opened.GroupBy(c => c.At.ToUnixTimeSeconds()).Max(g => g.Count()) : 0,
            opened.Count > 0 ? opened.GroupBy(c => c.At.ToUnixTimeSeconds() / 60).Max(g => g.Count()) : 0,
            refused.Count,
            refused.Count(c => c.Status == 429),
            breakers,
            perChat,
            made);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Opened} of {Chats} opened; lateness after each one's due time p50 {Percentile(LatenessSeconds, 0.5):F1} s, p99 {Percentile(LatenessSeconds, 0.99):F1} s, max {Percentile(LatenessSeconds, 1):F1} s "
        + $"(theoretical {Percentile(TheoreticalLatenessSeconds, 0.5):F1}, {Percentile(TheoreticalLatenessSeconds, 0.99):F1}, {Percentile(TheoreticalLatenessSeconds, 1):F1} s); "
        + $"first due to last opened {FirstDueToLastOpened.TotalSeconds:F1} s (bound {Bound.TotalSeconds:F1} s); {LaterThanTurn} later than their turn; "
        + $"{Refused} Stream calls refused ({RateLimited} with 429); breaker opened on {InstancesWithBreakerOpened} instance(s)");
}
