using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;
using Npgsql;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>
/// Three instances of the service on loopback, one PostgreSQL and one Redis, behave as one: creation is
/// race-free, each webhook is processed once, each window edge and each push happens once, limits are
/// shared — with one instance killed mid-run.
/// </summary>
public sealed class MultiInstanceTests : IAsyncLifetime
{
    private const string JwtSecret = "multi-instance-jwt-secret-0123456789-abcdef";
    private const int PermitLimit = 5;
    private readonly string _folder = Directory.CreateTempSubdirectory("appointment-chat-multi-").FullName;
    private readonly List<ServiceProcess> _instances = [];
    private EmulatorHost _emulator = null!;
    private FakeFcm _fcm = null!;
    private TestDatabase? _database;

    public async ValueTask InitializeAsync()
    {
        _emulator = await EmulatorHost.StartAsync();
        _fcm = await FakeFcm.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _fcm.DisposeAsync();
        await _emulator.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private static HttpClient Client(ServiceProcess service, string user, string? role = null) => new()
    {
        BaseAddress = service.BaseAddress,
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", TestJwt.Create(TestJwt.Claims(user, role is null ? [] : [role], null, TimeSpan.FromHours(1)), JwtSecret)) },
    };

    private async Task<int> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_database!.DatabaseUrl);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task ThreeInstancesOnOneDatabaseBehaveAsOne()
    {
        await TestDatabase.RequirePostgresAsync();
        await RedisServer.RequireAsync();
        _database = await TestDatabase.CreateAsync(DatabaseKind.Postgres);
        var environment = new Dictionary<string, string?>(_fcm.Settings().Select(p => KeyValuePair.Create(p.Key.Replace(":", "__", StringComparison.Ordinal), p.Value)))
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["JWT_SECRET"] = JwtSecret,
            ["STREAM_API_KEY"] = EmulatorHost.ApiKey,
            ["STREAM_API_SECRET"] = EmulatorHost.Secret,
            ["STREAM_CHAT_URL"] = _emulator.BaseUrl.ToString(),
            ["DATABASE_URL"] = _database.DatabaseUrl,
            ["REDIS_URL"] = RedisServer.Url,
            ["Storage__DataFolder"] = _folder,
            ["Workers__LeaseDuration"] = "00:00:03",
            ["Chat__SchedulerPollInterval"] = "00:00:01",
            ["Webhooks__PollInterval"] = "00:00:00.500",
            ["Push__PollInterval"] = "00:00:00.500",
            ["RateLimiting__Token__PermitLimit"] = PermitLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        for (var i = 0; i < 3; i++)
        {
            _instances.Add(await ServiceProcess.StartServiceAsync(environment, _folder));
        }

        var (a, b, c) = (_instances[0], _instances[1], _instances[2]);
        _emulator.Settings.WebhookUrl = new Uri(b.BaseAddress, "api/webhooks/stream");

        // 1. A hundred concurrent creates of one chat, spread over the three: one channel, one record, one answer.
        var s = Scenario.New();
        await (await Client(a, "pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddMinutes(2)))).ShouldBeOkJsonAsync(HttpStatusCode.Created);
        var creates = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            Client(_instances[i % 3], i % 2 == 0 ? s.PetOwnerId : s.VetId).PostAsJsonAsync("/api/chat/channels", new { appointmentId = s.AppointmentId })));
        var bodies = await Task.WhenAll(creates.Select(r => r.ShouldBeOkJsonAsync()));
        Assert.Single(bodies.Select(x => x.GetRawText()).Distinct());
        Assert.Single(_emulator.Store.ChannelIds(), id => id == "messaging:" + s.ChannelId);
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM appointments WHERE \"ChannelId\" = '{s.ChannelId}'"));

        // 2. Window edges a few seconds away, with three schedulers racing: each chat is opened exactly once.
        var pending = new List<Scenario>();
        for (var i = 0; i < 6; i++)
        {
            var p = Scenario.New();
            var start = DateTimeOffset.UtcNow.AddMinutes(5).AddSeconds(6); // activation 5 minutes: opens in ~6 s
            await (await Client(_instances[i % 3], "pms", "service").PutAsJsonAsync($"/api/appointments/{p.AppointmentId}", p.Facts(start, activationMinutes: 5))).ShouldBeOkJsonAsync(HttpStatusCode.Created);
            await (await Client(_instances[(i + 1) % 3], p.PetOwnerId).PostAsJsonAsync("/api/chat/channels", new { appointmentId = p.AppointmentId })).ShouldBeOkJsonAsync();
            pending.Add(p);
        }

        await Eventually.TrueAsync(() => pending.All(p => p.StreamChannel(_emulator) is { } ch && !Scenario.Frozen(ch)), "every pending chat to open", TimeSpan.FromSeconds(40));
        await Task.Delay(2000);
        foreach (var p in pending)
        {
            Assert.Equal(1, _emulator.Calls.Count(call => call.Endpoint == "UpdateChannelPartial" && call.Path.EndsWith("/" + p.ChannelId, StringComparison.Ordinal)));
        }

        // 3. Messages while one instance is killed: every webhook processed once, every push sent once.
        var vetDevice = "device-" + Guid.NewGuid().ToString("N");
        await (await Client(c, s.VetId).PostAsJsonAsync("/api/devices", new { token = vetDevice, platform = "ios" })).ShouldBeOkJsonAsync(HttpStatusCode.Created);
        const int messages = 30;
        for (var i = 0; i < messages; i++)
        {
            _emulator.Store.SendMessage(new StreamCaller(false, s.PetOwnerId, null), "messaging", s.ChannelId, new JsonObject { ["text"] = $"message {i}" });
            if (i == messages / 2)
            {
                c.Kill();
            }
        }

        // The same webhook delivered to each live instance at once is still one event.
        var duplicateId = Guid.NewGuid().ToString();
        var duplicate = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "delivered thrice", members: [s.PetOwnerId, s.VetId]);
        await Task.WhenAll(new[] { a, b, a, b }.Select(instance => new HttpClient { BaseAddress = instance.BaseAddress }.SendAsync(StreamWebhook.Request(duplicate, duplicateId, apiKey: EmulatorHost.ApiKey))));

        var outbox = $"SELECT count(*) FROM notification_outbox WHERE \"RecipientUserId\" = '{s.VetId}'";
        await Eventually.TrueAsync(async () => await CountAsync(outbox + " AND \"Status\" = 'sent'") == messages + 1, "a push for every message", TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        Assert.Equal(messages + 1, await CountAsync("SELECT count(*) FROM webhook_inbox WHERE \"EventType\" = 'message.new' AND \"Status\" = 'processed'"));
        Assert.Equal(messages + 1, await CountAsync(outbox));

        // No push twice. A send the SIGKILL cut off is not repeated (it may or may not have reached FCM). The dispatcher
        // records a claimed batch's sends in one commit before making them, so a kill cuts off at most one batch: with one
        // device per recipient, BatchSize sends (fewer than the 31 queued, so a resend-or-lose bug still fails this).
        var shown = _fcm.DeliveredTo(vetDevice).Select(m => m["message"]!["android"]!["collapse_key"]!.GetValue<string>()).ToList();
        var interrupted = await CountAsync("SELECT count(*) FROM push_deliveries WHERE \"Status\" = 'interrupted'");
        Assert.Equal(shown.Count, shown.Distinct().Count());
        Assert.True(interrupted <= PushDispatcher.BatchSize, $"{interrupted} sends were cut off by one SIGKILL, more than one batch");
        Assert.InRange(shown.Count, messages + 1 - interrupted, messages + 1);

        // 4. The token limit is one budget across the instances still alive.
        var user = Ids.New("owner");
        var allowed = 0;
        for (var i = 0; i < PermitLimit * 3; i++)
        {
            allowed += (await Client(_instances[i % 2], user).PostAsJsonAsync("/api/chat/token", new { })).StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        Assert.Equal(PermitLimit, allowed);
    }
}
