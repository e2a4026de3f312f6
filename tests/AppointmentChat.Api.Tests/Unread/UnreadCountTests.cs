using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.StreamEmulator;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Unread;

/// <summary>
/// Unread counts kept from the emulator's real webhooks (messages, reads, mark unread, deletions), repaired by the
/// catch-up pass, shown in the chat list and its filter, totalled for a badge and carried by pushes; on SQLite and PostgreSQL.
/// </summary>
public abstract class UnreadCountTests(DatabaseKind kind) : IAsyncLifetime
{
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

    private async Task<ServiceWithEmulator> StackAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        var settings = WebhookFixture.Settings(_fcm);
        configure?.Invoke(settings);
        return _stack = await ServiceWithEmulator.StartAsync(kind, settings);
    }

    private static async Task<Scenario> OpenChatAsync(ServiceWithEmulator stack)
    {
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await s.CreateChatOkAsync(stack.App);
        return s;
    }

    private static StreamCaller As(string userId) => new(false, userId, null);

    private static string Send(ServiceWithEmulator stack, Scenario s, string userId, string text) =>
        stack.Emulator.Store.SendMessage(As(userId), "messaging", s.ChannelId, new JsonObject { ["text"] = text })["message"]!["id"]!.GetValue<string>();

    private static async Task<JsonElement> ChatAsync(ServiceWithEmulator stack, Scenario s, string userId, string role, string query = "")
    {
        var list = await (await stack.App.ClientFor(userId, role).GetAsync("/api/chat/channels" + query)).ShouldBeOkJsonAsync();
        return list.GetProperty("channels").EnumerateArray().Single(c => c.GetProperty("id").GetString() == s.ChannelId);
    }

    private static async Task<int> UnreadAsync(ServiceWithEmulator stack, Scenario s, string userId, string role) =>
        (await ChatAsync(stack, s, userId, role)).GetProperty("unreadCount").GetInt32();

    private static Task UntilUnreadAsync(ServiceWithEmulator stack, Scenario s, string userId, string role, int expected) =>
        Eventually.TrueAsync(async () => await UnreadAsync(stack, s, userId, role) == expected, $"{userId} to have {expected} unread");

    private static Task UntilWebhooksDeliveredAsync(ServiceWithEmulator stack) =>
        Eventually.TrueAsync(() => stack.Emulator.Webhooks.All(d => d.Outcome != "pending"), "the emulator's webhooks delivered");

    private static Task UntilInboxProcessedAsync(ServiceWithEmulator stack) =>
        Eventually.TrueAsync(() => stack.App.InDatabaseAsync(db => db.InboxEvents.AllAsync(e => e.Status != Api.Webhooks.InboxStatus.Pending)), "every stored webhook processed");

    [Fact]
    public async Task MessagesCountUnreadForTheOtherSideOnlyAndReadingClearsThem()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);

        Send(stack, s, s.PetOwnerId, "Rex is limping");
        Send(stack, s, s.PetOwnerId, "since this morning");
        Send(stack, s, s.VetId, "Bring him in at 3");

        await UntilUnreadAsync(stack, s, s.VetId, "vet", 2);
        await UntilUnreadAsync(stack, s, s.PetOwnerId, "pet-owner", 1);
        var vetChat = await ChatAsync(stack, s, s.VetId, "vet");
        Assert.True(vetChat.GetProperty("unreadSince").GetDateTimeOffset() <= DateTimeOffset.UtcNow);
        var totals = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/unread")).ShouldBeOkJsonAsync();
        Assert.Equal(2, totals.GetProperty("unreadCount").GetInt32());
        Assert.Equal(1, totals.GetProperty("unreadChats").GetInt32());

        stack.Emulator.Store.MarkRead(As(s.VetId), "messaging", s.ChannelId, []);

        await UntilUnreadAsync(stack, s, s.VetId, "vet", 0);
        Assert.False((await ChatAsync(stack, s, s.VetId, "vet")).TryGetProperty("unreadSince", out _));
        Assert.Equal(1, await UnreadAsync(stack, s, s.PetOwnerId, "pet-owner"));
        var after = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/unread")).ShouldBeOkJsonAsync();
        Assert.Equal(0, after.GetProperty("unreadCount").GetInt32());
        Assert.Equal(0, after.GetProperty("unreadChats").GetInt32());
    }

    [Fact]
    public async Task MarkingUnreadSetsTheCountStreamReportsAndDeletingAnUnreadMessageTakesItOut()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        Send(stack, s, s.PetOwnerId, "one");
        var second = Send(stack, s, s.PetOwnerId, "two");
        var third = Send(stack, s, s.PetOwnerId, "three");
        stack.Emulator.Store.MarkRead(As(s.VetId), "messaging", s.ChannelId, []);
        await UntilWebhooksDeliveredAsync(stack);
        await UntilUnreadAsync(stack, s, s.VetId, "vet", 0);

        stack.Emulator.Store.MarkUnread(As(s.VetId), "messaging", s.ChannelId, new JsonObject { ["message_id"] = second });

        await UntilUnreadAsync(stack, s, s.VetId, "vet", 2);
        Assert.Contains(stack.Emulator.Webhooks, d => d.EventType == "notification.mark_unread");

        stack.Emulator.Store.DeleteMessage(As(s.PetOwnerId), third);

        await UntilUnreadAsync(stack, s, s.VetId, "vet", 1);
    }

    [Fact]
    public async Task AMessageWebhookRedeliveredOrReplayedUnderAnotherIdIsCountedOnce()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "once", Guid.NewGuid().ToString(), members: [s.PetOwnerId, s.VetId]);
        var id = Guid.NewGuid().ToString();

        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        await UntilInboxProcessedAsync(stack);

        Assert.Equal(1, await UnreadAsync(stack, s, s.VetId, "vet"));
        Assert.Equal(0, await UnreadAsync(stack, s, s.PetOwnerId, "pet-owner"));
    }

    [Fact]
    public async Task AMessageWhoseWebhookArrivesAfterALaterMessagesIsCountedToo()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        string Sent(string text, DateTimeOffset at) =>
            StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, text, Guid.NewGuid().ToString(), members: [s.PetOwnerId, s.VetId], createdAt: at);

        // Stream does not deliver webhooks in the order their messages were sent.
        var first = DateTimeOffset.UtcNow.AddSeconds(-2);
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(Sent("since this morning", first.AddMilliseconds(500)), Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        await UntilInboxProcessedAsync(stack);
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(Sent("Rex is limping", first), Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        await UntilInboxProcessedAsync(stack);

        Assert.Equal(2, await UnreadAsync(stack, s, s.VetId, "vet"));
        Assert.Equal(first, (await ChatAsync(stack, s, s.VetId, "vet")).GetProperty("unreadSince").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task AMessageSentInTheMillisecondOfAReadButAfterItStaysUnread()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        // Stream's times have microseconds: the vet reads the chat 300 µs into a millisecond, the pet owner's message
        // is sent 700 µs into it, and its webhook comes first.
        var millisecond = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddSeconds(-2).ToUnixTimeMilliseconds());
        var sentAt = millisecond.AddTicks(7_000);
        var message = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "One more thing", Guid.NewGuid().ToString(), members: [s.PetOwnerId, s.VetId], createdAt: sentAt);
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(message, Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        await UntilInboxProcessedAsync(stack);
        Assert.Equal(1, await UnreadAsync(stack, s, s.VetId, "vet"));

        var read = new JsonObject
        {
            ["type"] = "message.read",
            ["cid"] = "messaging:" + s.ChannelId,
            ["channel_id"] = s.ChannelId,
            ["channel_type"] = "messaging",
            ["user"] = new JsonObject { ["id"] = s.VetId },
            ["created_at"] = millisecond.AddTicks(3_000).ToString("O"),
        };
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(read.ToJsonString(), Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        await UntilInboxProcessedAsync(stack);

        var chat = await ChatAsync(stack, s, s.VetId, "vet");
        Assert.Equal(1, chat.GetProperty("unreadCount").GetInt32());
        Assert.Equal(sentAt, chat.GetProperty("unreadSince").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task TheUnreadFilterListsOnlyChatsWithUnreadMessagesAndRefusesOtherValues()
    {
        var stack = await StackAsync();
        var vet = Scenario.New();
        var unread = vet;
        var read = Scenario.New() with { VetId = vet.VetId };
        await unread.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await unread.CreateChatOkAsync(stack.App);
        await read.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await read.CreateChatOkAsync(stack.App);
        Send(stack, unread, unread.PetOwnerId, "hello?");
        Send(stack, read, read.VetId, "all good");
        await UntilUnreadAsync(stack, unread, vet.VetId, "vet", 1);
        await UntilInboxProcessedAsync(stack);

        var client = stack.App.ClientFor(vet.VetId, "vet");
        var filtered = await (await client.GetAsync("/api/chat/channels?unread=true")).ShouldBeOkJsonAsync();
        Assert.Equal([unread.ChannelId], filtered.GetProperty("channels").EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        var all = await (await client.GetAsync("/api/chat/channels?unread=false")).ShouldBeOkJsonAsync();
        Assert.Equal(2, all.GetProperty("channels").GetArrayLength());

        foreach (var bad in new[] { "yes", "1", "TRUE", "" })
        {
            await (await client.GetAsync($"/api/chat/channels?unread={bad}")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "unread", "invalid-request");
        }
    }

    [Fact]
    public async Task NobodyElseSeesTheCountsOfAChatNotTheirs()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        Send(stack, s, s.PetOwnerId, "private");
        await UntilUnreadAsync(stack, s, s.VetId, "vet", 1);

        var stranger = await (await stack.App.ClientFor("someone-else", "vet").GetAsync("/api/chat/unread")).ShouldBeOkJsonAsync();
        Assert.Equal(0, stranger.GetProperty("unreadCount").GetInt32());
        var strangerList = await (await stack.App.ClientFor("someone-else", "vet").GetAsync("/api/chat/channels?unread=true")).ShouldBeOkJsonAsync();
        Assert.Equal(0, strangerList.GetProperty("channels").GetArrayLength());

        // The practice's admin sees the chat, with their own count (none), not the vet's.
        var admin = await (await stack.App.ClientFor("admin-1", "admin", s.Org).GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        var chat = admin.GetProperty("channels").EnumerateArray().Single(c => c.GetProperty("id").GetString() == s.ChannelId);
        Assert.Equal(0, chat.GetProperty("unreadCount").GetInt32());
        await (await stack.App.AnonymousClient().GetAsync("/api/chat/unread")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task APushCarriesTheRecipientsUnreadTotalAsItsBadge()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var phone = $"vet-phone-{Guid.NewGuid():N}";
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, phone, "ios");

        Send(stack, s, s.PetOwnerId, "first");
        await Eventually.TrueAsync(() => _fcm.DeliveredTo(phone).Count() == 1, "the first push");
        Send(stack, s, s.PetOwnerId, "second");
        await Eventually.TrueAsync(() => _fcm.DeliveredTo(phone).Count() == 2, "the second push");

        var badges = _fcm.DeliveredTo(phone).Select(p => p["message"]!).ToList();
        Assert.Equal([1, 2], badges.Select(m => m["apns"]!["payload"]!["aps"]!["badge"]!.GetValue<int>()));
        Assert.Equal(["1", "2"], badges.Select(m => m["data"]!["badge"]!.GetValue<string>()));
    }

    [Fact]
    public async Task TheCatchUpPassRepairsCountsFromStreamsReadStateAfterLostWebhooks()
    {
        var stack = await StackAsync(settings => settings["Webhooks:CatchUpInterval"] = "01:00:00");
        var s = await OpenChatAsync(stack);
        await UntilWebhooksDeliveredAsync(stack);

        // Stream loses every webhook: three messages, the vet reading them, and one more.
        stack.Emulator.Settings.DropWebhooksUntil = DateTimeOffset.UtcNow.AddSeconds(3);
        Send(stack, s, s.PetOwnerId, "one");
        Send(stack, s, s.PetOwnerId, "two");
        Send(stack, s, s.PetOwnerId, "three");
        stack.Emulator.Store.MarkRead(As(s.VetId), "messaging", s.ChannelId, []);
        await Task.Delay(10);
        Send(stack, s, s.PetOwnerId, "four");
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal(0, await UnreadAsync(stack, s, s.VetId, "vet"));

        var asked = await stack.App.ClientFor("pms", "service").PostAsync("/api/webhooks/catch-up", null);
        Assert.Equal(HttpStatusCode.Accepted, asked.StatusCode);

        await UntilUnreadAsync(stack, s, s.VetId, "vet", 1);
        await Task.Delay(500);
        Assert.Equal(1, await UnreadAsync(stack, s, s.VetId, "vet"));
        Assert.Equal(0, await UnreadAsync(stack, s, s.PetOwnerId, "pet-owner"));
    }

    [Fact]
    public async Task TheCatchUpPassRepairsAChatWhoseReadWasLostThoughNoMessageCameSince()
    {
        var (stack, s, service) = await AChatWhoseReadWasLostAsync();

        await PassAsync(stack, service);

        await UntilUnreadAsync(stack, s, s.VetId, "vet", 0);
        var totals = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/unread")).ShouldBeOkJsonAsync();
        Assert.Equal(0, totals.GetProperty("unreadCount").GetInt32());
    }

    [Fact]
    public async Task ChatsBeyondOnePassesShareOfUnreadChecksAreCheckedByTheNextPass()
    {
        var (stack, s, service) = await AChatWhoseReadWasLostAsync();
        // A whole pass's share of other chats with unread messages, before this one by channel id ("aa-…" <
        // "appointment-…"; both databases compare ids byte by byte).
        await stack.App.InDatabaseAsync(db =>
        {
            db.Set<Api.Unread.UnreadCount>().AddRange(Enumerable.Range(0, StreamCatchUp.UnreadChecksPerPass)
                .Select(i => new Api.Unread.UnreadCount { UserId = "someone-else", ChannelId = $"aa-{i:D3}", Count = 1 }));
            return db.SaveChangesAsync();
        });

        // The next pass checks the others, and this chat's count is still too high...
        await PassAsync(stack, service);
        Assert.Equal(1, await UnreadAsync(stack, s, s.VetId, "vet"));

        // ...the pass after it goes on from where that one stopped, and repairs it.
        await PassAsync(stack, service);
        await UntilUnreadAsync(stack, s, s.VetId, "vet", 0);
    }

    /// <summary>
    /// A chat whose vet has one unread message, seen by a catch-up pass; then the vet reads it, Stream loses the
    /// webhook, and nobody writes again (the next pass looks only at channels with a message since this one began).
    /// </summary>
    private async Task<(ServiceWithEmulator Stack, Scenario Chat, HttpClient Service)> AChatWhoseReadWasLostAsync()
    {
        var stack = await StackAsync(settings =>
        {
            settings["Webhooks:CatchUpInterval"] = "01:00:00";
            settings["Webhooks:CatchUpOverlap"] = "00:00:00";
        });
        var s = await OpenChatAsync(stack);
        Send(stack, s, s.PetOwnerId, "Is Rex allowed to eat before the appointment?");
        await UntilUnreadAsync(stack, s, s.VetId, "vet", 1);
        var service = stack.App.ClientFor("pms", "service");
        await PassAsync(stack, service);

        await UntilWebhooksDeliveredAsync(stack);
        stack.Emulator.Settings.DropWebhooksUntil = DateTimeOffset.UtcNow.AddSeconds(2);
        stack.Emulator.Store.MarkRead(As(s.VetId), "messaging", s.ChannelId, []);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(1, await UnreadAsync(stack, s, s.VetId, "vet"));
        return (stack, s, service);
    }

    /// <summary>Starts a catch-up pass and waits for it to finish.</summary>
    private static async Task PassAsync(ServiceWithEmulator stack, HttpClient service)
    {
        var startedAt = DateTimeOffset.UtcNow;
        Assert.Equal(HttpStatusCode.Accepted, (await service.PostAsync("/api/webhooks/catch-up", null)).StatusCode);
        await Eventually.TrueAsync(
            () => stack.App.InDatabaseAsync(db => db.Set<Api.Webhooks.CatchUpMark>().AnyAsync(m => m.Since >= startedAt && m.LeaseOwner == null)),
            "the catch-up pass to finish");
    }
}

public sealed class UnreadCountTestsOnSqlite() : UnreadCountTests(DatabaseKind.Sqlite);

public sealed class UnreadCountTestsOnPostgres() : UnreadCountTests(DatabaseKind.Postgres);
