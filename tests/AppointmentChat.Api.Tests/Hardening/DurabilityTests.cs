using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.StreamEmulator;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Crashes: the service as a real process on PostgreSQL and on SQLite, sent thousands of Stream webhooks (by the
/// emulator, which retries like Stream) while it is killed with SIGKILL and restarted. Every event is processed exactly
/// once, the chat list ends up right, and no push is sent twice.
/// </summary>
public sealed partial class DurabilityTests : IAsyncLifetime
{
    private const string JwtSecret = "durability-test-jwt-secret-0123456789-abcdef";
    private static readonly int Events = int.TryParse(Environment.GetEnvironmentVariable("HARDENING_DURABILITY_EVENTS"), CultureInfo.InvariantCulture, out var n) ? n : 5000;
    private const int Chats = 10;
    private readonly string _folder = Directory.CreateTempSubdirectory("appointment-chat-durability-").FullName;
    private readonly List<ServiceProcess> _runs = [];
    private EmulatorHost _emulator = null!;
    private FakeFcm _fcm = null!;
    private TestDatabase? _database;

    public async ValueTask InitializeAsync()
    {
        _fcm = await FakeFcm.StartAsync();
        _emulator = await EmulatorHost.StartAsync(settings =>
        {
            // Stream gives a delivery up after 3 attempts (2 unreachable) within 15 s; what that loses is the service's
            // reconciliation's to repair. This suite proves the service's own durability: the emulator here retries
            // enough times, far enough apart, to outlast its restarts.
            settings.WebhookMaxAttempts = 12;
            settings.WebhookMaxAttemptsWhenUnreachable = 12;
            settings.WebhookRetryBudget = TimeSpan.FromMinutes(5);
            settings.WebhookRetryDelay = TimeSpan.FromMilliseconds(250);
            settings.WebhookConcurrency = 16;
        });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var run in _runs)
        {
            await run.DisposeAsync();
        }

        await _emulator.DisposeAsync();
        await _fcm.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData(DatabaseKind.Postgres)]
    [InlineData(DatabaseKind.Sqlite)]
    public async Task WebhooksSentWhileTheServiceIsKilledTwiceAreEachProcessedOnceAndNoPushIsSentTwice(DatabaseKind kind)
    {
        _database = await TestDatabase.CreateAsync(kind);
        var port = ServiceProcess.FreePort();
        var service = await StartAsync(port);
        _emulator.Settings.WebhookUrl = new Uri(service.BaseAddress, "api/webhooks/stream");

        // Ten open chats, each participant with one device.
        var chats = Enumerable.Range(0, Chats).Select(_ => Scenario.New()).ToList();
        foreach (var s in chats)
        {
            await (await Client(service, "pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddMinutes(2)))).ShouldBeOkJsonAsync(HttpStatusCode.Created);
            await (await Client(service, s.PetOwnerId).PostAsJsonAsync("/api/chat/channels", new { appointmentId = s.AppointmentId })).ShouldBeOkJsonAsync();
            await (await Client(service, s.PetOwnerId).PostAsJsonAsync("/api/devices", new { token = Device(s.PetOwnerId), platform = "android" })).ShouldBeOkJsonAsync(HttpStatusCode.Created);
            await (await Client(service, s.VetId).PostAsJsonAsync("/api/devices", new { token = Device(s.VetId), platform = "ios" })).ShouldBeOkJsonAsync(HttpStatusCode.Created);
        }

        await Eventually.TrueAsync(() => _emulator.Webhooks.All(d => d.Outcome != "pending"), "the set-up's webhooks", TimeSpan.FromSeconds(30));
        var started = Stopwatch.GetTimestamp();

        // The messages: each one Stream's message.new webhook, delivered with retries while the service dies twice.
        var sent = new List<(string Channel, string MessageId, string Text)>();
        for (var i = 0; i < Events; i++)
        {
            var s = chats[i % Chats];
            var sender = i % 2 == 0 ? s.PetOwnerId : s.VetId;
            var message = _emulator.Store.SendMessage(new StreamCaller(false, sender, null), "messaging", s.ChannelId, new JsonObject { ["text"] = $"message {i}" });
            sent.Add((s.ChannelId, message["message"]!["id"]!.GetValue<string>(), $"message {i}"));
        }

        var messageIds = sent.Select(m => m.MessageId).ToHashSet();
        int Delivered() => _emulator.Webhooks.Count(d => d.EventType == "message.new" && d.Outcome == "delivered");
        var kills = 0;
        var restarts = new List<TimeSpan>();
        foreach (var at in new[] { Events / 3, Events * 2 / 3 })
        {
            await Eventually.TrueAsync(() => Delivered() >= at, $"{at} webhooks delivered", TimeSpan.FromSeconds(120));
            service.Kill(); // SIGKILL: no shutdown, no flush, whatever was in flight is cut off
            kills++;
            var down = Stopwatch.GetTimestamp();
            service = await StartAsync(port);
            restarts.Add(Stopwatch.GetElapsedTime(down));
        }

        var webhooks = _emulator.Webhooks.Where(d => d.EventType == "message.new" && messageIds.Contains(MessageIdOf(d))).ToList();
        await Eventually.TrueAsync(() => webhooks.All(d => d.Outcome != "pending"), "Stream to finish delivering", TimeSpan.FromSeconds(180));
        Assert.All(webhooks, d => Assert.Equal("delivered", d.Outcome));
        Assert.Equal(Events, webhooks.Count);
        await Eventually.TrueAsync(async () => await CountAsync("""SELECT count(*) FROM webhook_inbox WHERE "Status" = 'pending'""") == 0
            && await CountAsync("""SELECT count(*) FROM notification_outbox WHERE "Status" = 'pending'""") == 0, "the service to catch up", TimeSpan.FromSeconds(180));
        var elapsed = Stopwatch.GetElapsedTime(started);

        // Every event stored once and processed once.
        var inbox = await StringsAsync("""SELECT "DedupKey" FROM webhook_inbox WHERE "EventType" = 'message.new' AND "Status" = 'processed'""");
        Assert.Equal(webhooks.Select(d => "id:" + d.WebhookId).Order(), inbox.Order());
        Assert.Equal(Events, await CountAsync("""SELECT count(*) FROM webhook_inbox WHERE "EventType" = 'message.new'"""));

        // One push per message (to the other participant), each sent or, if a kill cut its send off, not sent again.
        Assert.Equal(Events, await CountAsync("""SELECT count(*) FROM notification_outbox"""));
        Assert.Equal(Events, await CountAsync("""SELECT count(DISTINCT "MessageId") FROM notification_outbox WHERE "Status" = 'sent'"""));
        Assert.Equal(Events, await CountAsync("""SELECT count(*) FROM push_deliveries"""));
        // A kill cuts off at most the batch being sent (its sends are recorded together before any is made): with one
        // device per recipient, BatchSize sends per kill.
        var interrupted = await CountAsync("""SELECT count(*) FROM push_deliveries WHERE "Status" = 'interrupted'""");
        Assert.True(interrupted <= kills * PushDispatcher.BatchSize, $"{interrupted} pushes were cut off, more than one batch per kill");
        Assert.Equal(Events - interrupted, await CountAsync("""SELECT count(*) FROM push_deliveries WHERE "Status" = 'sent'"""));

        // FCM got each push at most once, and every one the database says it sent. (A cut-off send may or may not have
        // reached FCM before the kill; either way it is not sent again.)
        var pushed = _fcm.Delivered.Select(m => m["message"]!["data"]!["messageId"]!.GetValue<string>()).Where(messageIds.Contains).ToList();
        var twice = pushed.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} pushes were sent twice, e.g. {twice.FirstOrDefault()}");
        Assert.InRange(pushed.Count, Events - interrupted, Events);
        var recordedSent = await StringsAsync("""SELECT n."MessageId" FROM push_deliveries d JOIN notification_outbox n ON n."Id" = d."NotificationId" WHERE d."Status" = 'sent'""");
        Assert.Empty(recordedSent.Except(pushed));

        // The chat list: each chat's last message is Stream's last message.
        var lastMessages = await PairsAsync("""SELECT "ChannelId", "LastMessageId" FROM appointments""");
        foreach (var s in chats)
        {
            Assert.Equal(sent.Last(m => m.Channel == s.ChannelId).MessageId, lastMessages[s.ChannelId]);
        }

        // Three processes' worth of logs, and not one secret or token in them.
        var output = string.Concat(_runs.Select(r => r.StandardOutput + r.StandardError));
        foreach (var secret in new[] { JwtSecret, EmulatorHost.Secret, "BEGIN PRIVATE KEY", "fake-access-" })
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }

        Assert.DoesNotMatch(Jwt(), output);

        var attempts = webhooks.Sum(d => d.Attempts.Count);
        Figures.Report(
            $"Durability ({kind}): {Events} webhooks, {kills} SIGKILLs (restarts took {string.Join(", ", restarts.Select(r => $"{r.TotalSeconds:0.0} s"))}), " +
            $"{attempts} delivery attempts ({webhooks.Count(d => d.Attempts.Count > 1)} webhooks retried), {inbox.Count} processed once, " +
            $"{pushed.Count} pushes sent once, {interrupted} cut off by a kill and not resent ({pushed.Count - (Events - interrupted)} of them had reached FCM), 0 sent twice; {elapsed.TotalSeconds:0} s.");
    }

    [Fact]
    public async Task APushWhoseSendWasCutOffByACrashIsNotSentAgain()
    {
        await using var fcm = await FakeFcm.StartAsync();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, WebhookFixture.Settings(fcm));
        var s = await WebhookTestData.SeedChatAsync(app);
        var token = "device-" + Guid.NewGuid().ToString("N");
        await WebhookTestData.RegisterDeviceAsync(app, s.VetId, token);

        // What a process killed in the middle of a send leaves: the delivery written ahead, its outcome never. In one
        // transaction, as the dispatcher wrote it: a poll between the two writes would send it as a fresh notification.
        var now = DateTimeOffset.UtcNow;
        var notificationId = await app.InDatabaseAsync(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            var notification = new Notification
            {
                DedupKey = "message:cut-off:" + s.VetId,
                RecipientUserId = s.VetId,
                Title = "Alex",
                Body = "cut off",
                AppointmentId = s.AppointmentId,
                ChannelId = s.ChannelId,
                MessageId = "cut-off",
                CreatedAt = now,
                NextAttemptAt = now,
                Attempts = 1,
            };
            db.Add(notification);
            await db.SaveChangesAsync();
            db.Add(new PushDelivery { NotificationId = notification.Id, Token = token, Status = DeliveryStatus.Sending, Attempts = 1, At = now });
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
            return notification.Id;
        });

        await Eventually.TrueAsync(() => app.InDatabaseAsync(db => db.Notifications.AnyAsync(n => n.Id == notificationId && n.Status != NotificationStatus.Pending)), "the dispatcher to take it up");

        var delivery = await app.InDatabaseAsync(db => db.PushDeliveries.AsNoTracking().SingleAsync(d => d.NotificationId == notificationId));
        Assert.Equal(DeliveryStatus.Interrupted, delivery.Status);
        Assert.Empty(fcm.DeliveredTo(token));
        Assert.Equal(0, fcm.Attempts.GetValueOrDefault(token));
    }

    private async Task<ServiceProcess> StartAsync(int port)
    {
        var environment = new Dictionary<string, string?>(_fcm.Settings().Select(p => KeyValuePair.Create(p.Key.Replace(":", "__", StringComparison.Ordinal), p.Value)))
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["JWT_SECRET"] = JwtSecret,
            ["STREAM_API_KEY"] = EmulatorHost.ApiKey,
            ["STREAM_API_SECRET"] = EmulatorHost.Secret,
            ["STREAM_CHAT_URL"] = _emulator.BaseUrl.ToString(),
            ["DATABASE_URL"] = _database!.DatabaseUrl,
            ["Storage__DataFolder"] = _folder,
            ["Workers__LeaseDuration"] = "00:00:03", // a killed run's rows are taken over 3 s after it died
            ["Webhooks__PollInterval"] = "00:00:00.500",
            ["Push__PollInterval"] = "00:00:00.500",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
        };
        var run = await ServiceProcess.StartServiceAsync(environment, _folder, TimeSpan.FromSeconds(90), port);
        _runs.Add(run);
        return run;
    }

    private static HttpClient Client(ServiceProcess service, string user, string? role = null) => new()
    {
        BaseAddress = service.BaseAddress,
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", TestJwt.Create(TestJwt.Claims(user, role is null ? [] : [role], null, TimeSpan.FromHours(1)), JwtSecret)) },
    };

    private static string Device(string userId) => "device-" + userId;

    private static string MessageIdOf(WebhookDelivery delivery) =>
        JsonNode.Parse(delivery.Body)!["message"]?["id"]?.GetValue<string>() ?? "";

    private async Task<int> CountAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt32(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>The database the service writes: PostgreSQL's, or the SQLite file in its data folder.</summary>
    private async Task<DbConnection> OpenAsync()
    {
        DbConnection connection = _database!.Kind == DatabaseKind.Postgres
            ? new NpgsqlConnection(_database.DatabaseUrl)
            : new SqliteConnection($"Data Source={Path.Combine(_folder, "appointment-chat.db")};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    private async Task<List<string>> StringsAsync(string sql) => [.. (await RowsAsync(sql)).Select(row => row[0]).OfType<string>()];

    private async Task<Dictionary<string, string>> PairsAsync(string sql) =>
        (await RowsAsync(sql)).Where(row => row[0] is not null && row[1] is not null).ToDictionary(row => row[0]!, row => row[1]!);

    private async Task<List<string?[]>> RowsAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string?[]>();
        while (await reader.ReadAsync())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetString(i))]);
        }

        return rows;
    }

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")]
    private static partial Regex Jwt();
}
