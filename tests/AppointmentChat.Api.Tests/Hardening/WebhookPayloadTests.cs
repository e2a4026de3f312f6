using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Notifications;
using System.Net;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Correctly signed webhooks whose strings no database column can hold as they are (a NUL, which PostgreSQL
/// refuses in text; a lone surrogate, which is not UTF-16) are stored and processed, never answered with a
/// 500 or parked as dead.
/// </summary>
public abstract class WebhookPayloadTests(HardeningFixture fixture)
{
    [Fact]
    public async Task ANulInTheEventTypeOrChannelIdIsStoredWithoutItNotAnsweredWith500()
    {
        var (stack, _) = await fixture.StartAsync();
        var id = Guid.NewGuid().ToString();
        var body = """{"type":"custom.\u0000event","channel_id":"appointment-\u0000x","channel_type":"messaging"}""";

        var response = await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, id));

        await response.ShouldBeOkJsonAsync();
        var stored = Assert.Single(await WebhookTestData.InboxAsync(stack.App, e => e.DedupKey == "id:" + id));
        Assert.Equal(("custom.event", "appointment-x"), (stored.EventType, stored.ChannelId));
    }

    [Fact]
    public async Task AMessageWithANulAndASenderNameWithALoneSurrogateIsProcessedNotParked()
    {
        var (stack, world) = await fixture.StartAsync();
        var s = world.WithChat;
        var id = Guid.NewGuid().ToString();
        var messageId = Guid.NewGuid().ToString();
        var stranger = Ids.New("stranger"); // a sender the service has no name for, so the event's name is used
        var body = StreamWebhook.MessageNew(s.ChannelId, stranger, "before\u0000after", messageId, members: [s.PetOwnerId, s.VetId])
            .Replace(stranger.ToUpperInvariant(), "Alex \\ud800", StringComparison.Ordinal);

        var response = await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, id));

        await response.ShouldBeOkJsonAsync();
        InboxEvent? stored = null;
        await Eventually.TrueAsync(async () =>
        {
            stored = await stack.App.InDatabaseAsync(db => db.InboxEvents.AsNoTracking().SingleOrDefaultAsync(e => e.DedupKey == "id:" + id));
            return stored is not null && (stored.Status != InboxStatus.Pending || stored.Attempts > 0);
        }, "the event to be processed (or to fail)");
        Assert.True(stored!.Status == InboxStatus.Processed, $"{stored.Status}: {stored.Note}");
        var chat = await stack.App.InDatabaseAsync(db => db.Chats.AsNoTracking().SingleAsync(c => c.AppointmentId == s.AppointmentId));
        Assert.Equal((messageId, "beforeafter"), (chat.LastMessageId, chat.LastMessageText));
        var push = await stack.App.InDatabaseAsync(db => db.Notifications.AsNoTracking().SingleAsync(n => n.MessageId == messageId && n.RecipientUserId == s.VetId));
        Assert.Equal(("Alex \\ud800", "beforeafter"), (push.Title, push.Body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task OneMessageArrivingUnderTwentyIdsAtOnceQueuesOnePushPerRecipientAndLogsNoError()
    {
        var (stack, world) = await fixture.StartAsync();
        var s = world.WithChat;
        var messageId = Guid.NewGuid().ToString();
        var body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "twenty times", messageId, members: [s.PetOwnerId, s.VetId]);
        var errorsBefore = stack.App.Logs.Lines.Count(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
        var ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid().ToString()).ToList();

        await Task.WhenAll(ids.Select(async id => await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync()));

        await Eventually.TrueAsync(() => stack.App.InDatabaseAsync(db => db.InboxEvents.CountAsync(e => ids.Select(i => "id:" + i).Contains(e.DedupKey) && e.Status == InboxStatus.Processed)).ContinueWith(t => t.Result == 20),
            "all twenty events processed");
        Assert.Equal([s.VetId], await stack.App.InDatabaseAsync(db => db.Notifications.Where(n => n.MessageId == messageId).Select(n => n.RecipientUserId).ToListAsync()));
        Assert.Equal(errorsBefore, stack.App.Logs.Lines.Count(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error));
    }
}

public sealed class WebhookPayloadTestsOnSqlite(SqliteHardening fixture) : WebhookPayloadTests(fixture), IClassFixture<SqliteHardening>;

public sealed class WebhookPayloadTestsOnPostgres(PostgresHardening fixture) : WebhookPayloadTests(fixture), IClassFixture<PostgresHardening>;
