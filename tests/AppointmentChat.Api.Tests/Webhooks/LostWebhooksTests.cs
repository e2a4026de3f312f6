using System.Net;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>
/// Stream gives a webhook up after about 15 s; here it loses every one for a whole minute while messages flow. The
/// catch-up pass then finds them in Stream: every chat list shows its newest message, and exactly the messages recent
/// enough (Webhooks__CatchUpPushWindow, 30 s here) are pushed, once each — on SQLite and PostgreSQL.
/// </summary>
public abstract class LostWebhooksTests(DatabaseKind kind) : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);
    private FakeFcm _fcm = null!;
    private ServiceWithEmulator? _stack;

    public async ValueTask InitializeAsync() => _fcm = await FakeFcm.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        await _fcm.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task AfterAMinuteOfLostWebhooksTheCatchUpRepairsEveryListAndPushesExactlyTheRecentMessagesOnce()
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        var settings = WebhookFixture.Settings(_fcm);
        settings["Webhooks:CatchUpInterval"] = "01:00:00"; // only the pass at start and the ones asked for
        settings["Webhooks:CatchUpPushWindow"] = "00:00:30";
        var stack = _stack = await ServiceWithEmulator.StartAsync(kind, settings);
        var chats = new List<(Scenario Scenario, string VetDevice)>();
        for (var i = 0; i < 4; i++)
        {
            var s = Scenario.New();
            await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
            await s.CreateChatOkAsync(stack.App);
            var device = $"vet-phone-{Guid.NewGuid():N}";
            await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, device, "ios");
            chats.Add((s, device));
        }

        await Eventually.TrueAsync(() => stack.Emulator.Webhooks.All(d => d.Outcome != "pending"), "the chats' own webhooks delivered");

        // A minute in which Stream loses every webhook: 20 messages in its first 20 s, 18 in its last 20.
        var outageStart = DateTimeOffset.UtcNow;
        stack.Emulator.Settings.DropWebhooksUntil = outageStart + Outage;
        var old = await SendAsync(stack.Emulator, chats, 20, outageStart, TimeSpan.FromSeconds(1));
        var recent = await SendAsync(stack.Emulator, chats, 18, outageStart + TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(1));
        await DelayUntilAsync(outageStart + Outage + TimeSpan.FromSeconds(1));

        Assert.All(stack.Emulator.Webhooks.Where(d => d.EventType == "message.new"), d => Assert.Equal("dropped", d.Outcome));
        Assert.Empty(_fcm.Delivered);

        // An operator asks for a catch-up (the periodic one is an hour away): the oldest messages are now 41–61 s old,
        // past the 30 s push window; the recent ones 3–21 s.
        var asked = await stack.App.ClientFor("pms", "service").PostAsync("/api/webhooks/catch-up", null);
        Assert.Equal(HttpStatusCode.Accepted, asked.StatusCode);

        var recentIds = recent.Select(m => m.MessageId).ToHashSet();
        await Eventually.TrueAsync(() => PushedMessageIds(chats).Count >= recentIds.Count, "a push for every recent message", TimeSpan.FromSeconds(30));
        foreach (var (s, _) in chats)
        {
            var newest = old.Concat(recent).Last(m => m.Chat == s);
            await Eventually.TrueAsync(async () =>
            {
                var list = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
                return list.GetProperty("channels")[0].GetProperty("lastMessage").GetString() == newest.Text;
            }, $"the newest message in the list of {s.VetId}");
        }

        // A second pass finds the same messages and pushes nothing again.
        await stack.App.ClientFor("pms", "service").PostAsync("/api/webhooks/catch-up", null);
        await Task.Delay(TimeSpan.FromSeconds(3));

        var pushed = PushedMessageIds(chats);
        Assert.Equal(recentIds.Order(), pushed.Order());
        Assert.Equal(pushed.Count, pushed.Distinct().Count());
        Assert.DoesNotContain(pushed, id => old.Any(m => m.MessageId == id));
    }

    [Fact]
    public async Task MessagesSentWhileTheServiceWasDownAreFoundByThePassItRunsAtStart()
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        var settings = WebhookFixture.Settings(_fcm);
        settings["Webhooks:CatchUpInterval"] = "01:00:00";
        await using var emulator = await EmulatorHost.StartAsync();
        var app = await ServiceWithEmulator.StartAppAsync(emulator, kind, settings);
        app.KeepDatabase = true;
        var s = Scenario.New();
        await s.PushAsync(app, DateTimeOffset.UtcNow.AddMinutes(2));
        await s.CreateChatOkAsync(app);
        var device = $"vet-phone-{Guid.NewGuid():N}";
        await WebhookTestData.RegisterDeviceAsync(app, s.VetId, device, "ios");
        await Eventually.TrueAsync(() => emulator.Webhooks.All(d => d.Outcome != "pending"), "the chat's own webhooks delivered");
        var database = app.Database;
        await app.DisposeAsync();

        // The service is down: Stream's two attempts at each webhook find nobody listening, and it gives them up.
        var photo = emulator.Store.SendMessage(new StreamCaller(false, s.PetOwnerId, null), "messaging", s.ChannelId, new JsonObject
        {
            ["attachments"] = new JsonArray(new JsonObject { ["type"] = "image", ["image_url"] = "https://example.com/paw.jpg" }),
        })["message"]!["id"]!.GetValue<string>();
        var sent = await SendAsync(emulator, [(s, device)], 3, DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(200));
        await Eventually.TrueAsync(() => emulator.Webhooks.Where(d => d.EventType == "message.new").All(d => d.Outcome == "failed"), "Stream to give the webhooks up");

        await using var restarted = await ServiceWithEmulator.StartAppAsync(emulator, kind, settings, database: database);
        await Eventually.TrueAsync(() => _fcm.DeliveredTo(device).Count() > sent.Count, "a push for each message sent while the service was down", TimeSpan.FromSeconds(30));
        var list = await (await restarted.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();

        Assert.Equal(sent[^1].Text, list.GetProperty("channels")[0].GetProperty("lastMessage").GetString());
        Assert.Equal(sent.Select(m => m.MessageId).Append(photo).Order(), PushedMessageIds([(s, device)]).Order());
        Assert.Equal("Sent a photo", _fcm.DeliveredTo(device).Single(p => p["message"]!["data"]!["messageId"]!.GetValue<string>() == photo)["message"]!["notification"]!["body"]!.GetValue<string>());
    }

    private List<string> PushedMessageIds(IEnumerable<(Scenario Scenario, string VetDevice)> chats) =>
        [.. chats.SelectMany(c => _fcm.DeliveredTo(c.VetDevice)).Select(p => p["message"]!["data"]!["messageId"]!.GetValue<string>())];

    /// <summary>One owner's message a <paramref name="every"/>, round the chats, starting at <paramref name="from"/>.</summary>
    private static async Task<List<(Scenario Chat, string MessageId, string Text)>> SendAsync(
        EmulatorHost emulator, List<(Scenario Scenario, string VetDevice)> chats, int count, DateTimeOffset from, TimeSpan every)
    {
        var sent = new List<(Scenario, string, string)>();
        for (var i = 0; i < count; i++)
        {
            await DelayUntilAsync(from + every * i);
            var chat = chats[i % chats.Count].Scenario;
            var text = $"message {Guid.NewGuid():N}";
            var answer = emulator.Store.SendMessage(new StreamCaller(false, chat.PetOwnerId, null), "messaging", chat.ChannelId, new JsonObject { ["text"] = text });
            sent.Add((chat, answer["message"]!["id"]!.GetValue<string>(), text));
        }

        return sent;
    }

    private static async Task DelayUntilAsync(DateTimeOffset at)
    {
        var wait = at - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }
}

public sealed class LostWebhooksTestsOnSqlite() : LostWebhooksTests(DatabaseKind.Sqlite);

public sealed class LostWebhooksTestsOnPostgres() : LostWebhooksTests(DatabaseKind.Postgres);
