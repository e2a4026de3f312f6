using System.Text.RegularExpressions;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.Api.Transcripts;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>
/// Retention on a fake clock: finished webhooks and push notifications are deleted once their keeping time has passed
/// (defaults: 7 days, 30 for dead webhooks), and nothing that is still owed work or still within its time. On SQLite and
/// PostgreSQL.
/// </summary>
public abstract class RetentionTests(DatabaseKind kind) : IAsyncLifetime
{
    private static readonly DateTimeOffset NeverDue = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(10);

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private ChatApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _app = await ChatApp.StartAsync(kind, services: services => services.AddSingleton<TimeProvider>(_clock));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task FinishedWebhooksAndNotificationsAreDeletedAfterTheirKeepingTimeAndNothingElseIs()
    {
        var now = _clock.GetUtcNow();
        var expired = new List<InboxEvent>();
        // More than a batch on either database (100 rows a transaction on SQLite, 1,000 on PostgreSQL).
        for (var i = 0; i < 1_050; i++)
        {
            expired.Add(Event($"old-{i}", InboxStatus.Processed, received: now.AddDays(-9), processed: now.AddDays(-8)));
        }

        expired.Add(Event("old-ignored", InboxStatus.Ignored, received: now.AddDays(-8), processed: now.AddDays(-8)));
        // Processed 7 days ago less 5 minutes: within its time now, past it once the clock moves on to the next sweep.
        expired.Add(Event("just-expiring", InboxStatus.Processed, received: now.AddDays(-7), processed: now.AddDays(-7).AddMinutes(5)));
        expired.Add(Event("old-dead", InboxStatus.Dead, received: now.AddDays(-31), processed: null));
        // Discarded by an operator 8 days ago (the discard is its processing).
        expired.Add(Event("old-discarded", InboxStatus.Discarded, received: now.AddDays(-40), processed: now.AddDays(-8)));
        var kept = new List<InboxEvent>
        {
            Event("recent", InboxStatus.Processed, received: now.AddDays(-6), processed: now.AddDays(-6)),
            // Received long ago but processed recently (it was retried): counted from its processing.
            Event("retried", InboxStatus.Processed, received: now.AddDays(-20), processed: now.AddDays(-1)),
            Event("recent-dead", InboxStatus.Dead, received: now.AddDays(-29), processed: null),
            Event("recently-discarded", InboxStatus.Discarded, received: now.AddDays(-40), processed: now.AddDays(-1)),
            Event("old-pending", InboxStatus.Pending, received: now.AddDays(-40), processed: null),
        };

        var oldSent = Notification("old-sent", NotificationStatus.Sent, now.AddDays(-8));
        var oldFailed = Notification("old-failed", NotificationStatus.Failed, now.AddDays(-8));
        var oldDiscarded = Notification("old-discarded", NotificationStatus.Discarded, now.AddDays(-8));
        var recentSent = Notification("recent-sent", NotificationStatus.Sent, now.AddDays(-6));
        var oldPending = Notification("old-pending", NotificationStatus.Pending, now.AddDays(-8));
        // One transaction: the sweep runs as the app starts, and these rows are already past their time, so a sweep
        // between the notifications and their deliveries would delete the notifications and leave the deliveries behind.
        await _app.InDatabaseAsync(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.InboxEvents.AddRange(expired);
            db.InboxEvents.AddRange(kept);
            db.Notifications.AddRange(oldSent, oldFailed, oldDiscarded, recentSent, oldPending);
            await db.SaveChangesAsync();
            db.PushDeliveries.AddRange(
                Delivery(oldSent, "device-a"), Delivery(oldSent, "device-b"), Delivery(oldFailed, "device-a"), Delivery(recentSent, "device-a"));
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
            return 0;
        });

        _clock.Advance(SweepInterval + TimeSpan.FromMinutes(1));

        var expiredKeys = expired.Select(e => e.DedupKey).ToList();
        await Eventually.TrueAsync(
            async () => !await _app.InDatabaseAsync(db => db.InboxEvents.AnyAsync(e => expiredKeys.Contains(e.DedupKey)))
                && !await _app.InDatabaseAsync(db => db.Notifications.AnyAsync(n => n.Id == oldSent.Id || n.Id == oldFailed.Id || n.Id == oldDiscarded.Id)),
            "the webhooks and notifications past their keeping time to be deleted",
            TimeSpan.FromSeconds(30));

        var keptKeys = kept.Select(e => e.DedupKey).ToList();
        var remaining = await _app.InDatabaseAsync(db => db.InboxEvents.AsNoTracking().Where(e => keptKeys.Contains(e.DedupKey)).Select(e => e.DedupKey).ToListAsync());
        Assert.Equal(keptKeys.Order(), remaining.Order());
        var notifications = await _app.InDatabaseAsync(db => db.Notifications.AsNoTracking().Select(n => n.Id).ToListAsync());
        Assert.Equal(new[] { recentSent.Id, oldPending.Id }.Order(), notifications.Order());
        var deliveries = await _app.InDatabaseAsync(db => db.PushDeliveries.AsNoTracking().Select(d => d.NotificationId).ToListAsync());
        Assert.Equal([recentSent.Id], deliveries);
        // The sweep counts and logs once its last batch has found nothing more, a moment after the rows are gone.
        await Eventually.TrueAsync(
            () => _app.Logs.Lines.Any(line => line.Message.StartsWith("Retention: deleted", StringComparison.Ordinal)),
            "the sweep to log what it deleted");
        var metrics = await (await _app.AnonymousClient().GetAsync("/metrics")).Content.ReadAsStringAsync();
        Assert.Matches("chat_retention_deleted_total\\{[^}]*kind=\"webhooks\"[^}]*\\} [1-9]", metrics);
    }

    [Fact]
    public async Task TranscriptCallbacksNoLongerPendingAreDeletedAfterThirtyDaysAndPendingOnesAreKept()
    {
        var now = _clock.GetUtcNow();
        TranscriptCallback Callback(string name, TranscriptCallbackStatus status, int daysAgo) => new()
        {
            AppointmentId = Ids.New(name), ChannelId = "appointment-" + name, OrganisationId = "clinic-1", Status = status,
            CreatedAt = now.AddDays(-daysAgo), NextAttemptAt = status == TranscriptCallbackStatus.Pending ? NeverDue : now.AddDays(-daysAgo),
        };
        TranscriptCallback[] expired = [Callback("delivered", TranscriptCallbackStatus.Delivered, 31), Callback("failed", TranscriptCallbackStatus.Failed, 31), Callback("discarded", TranscriptCallbackStatus.Discarded, 40)];
        TranscriptCallback[] kept = [Callback("recent", TranscriptCallbackStatus.Delivered, 29), Callback("recent-failed", TranscriptCallbackStatus.Failed, 29), Callback("old-pending", TranscriptCallbackStatus.Pending, 60)];
        await _app.InDatabaseAsync(db =>
        {
            db.Set<TranscriptCallback>().AddRange([.. expired, .. kept]);
            return db.SaveChangesAsync();
        });

        _clock.Advance(SweepInterval + TimeSpan.FromMinutes(1));

        var expiredIds = expired.Select(c => c.Id).ToList();
        await Eventually.TrueAsync(
            async () => !await _app.InDatabaseAsync(db => db.Set<TranscriptCallback>().AnyAsync(c => expiredIds.Contains(c.Id))),
            "the transcript callbacks past their keeping time to be deleted",
            TimeSpan.FromSeconds(30));
        var remaining = await _app.InDatabaseAsync(db => db.Set<TranscriptCallback>().AsNoTracking().Select(c => c.Id).ToListAsync());
        Assert.Equal(kept.Select(c => c.Id).Order(), remaining.Order());
        // At least these three: counters are read process-wide, and the same test on the other database may run alongside.
        await Eventually.TrueAsync(
            async () => Regex.IsMatch(
                await (await _app.AnonymousClient().GetAsync("/metrics")).Content.ReadAsStringAsync(),
                "chat_retention_deleted_total\\{[^}]*kind=\"transcript-callbacks\"[^}]*\\} ([3-9]|[1-9][0-9]+)(\\s|$)"),
            "the sweep to count what it deleted");
    }

    [Fact]
    public async Task ARedeliveryIsADuplicateWhileItsFirstDeliveryIsKeptAndIsTakenAsNewAfter()
    {
        var s = await WebhookTestData.SeedChatAsync(_app);
        var id = Guid.NewGuid().ToString();
        var body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "hello");
        var first = await (await _app.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
        Assert.False(first.TryGetProperty("duplicate", out var duplicate) && duplicate.GetBoolean());
        await WebhookTestData.ProcessedAsync(_app, "id:" + id);

        _clock.Advance(TimeSpan.FromDays(6));
        var withinTime = await (await _app.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
        Assert.True(withinTime.GetProperty("duplicate").GetBoolean());

        _clock.Advance(TimeSpan.FromDays(1) + SweepInterval + TimeSpan.FromMinutes(1));
        await Eventually.TrueAsync(
            async () => !await _app.InDatabaseAsync(db => db.InboxEvents.AnyAsync(e => e.DedupKey == "id:" + id)),
            "the processed webhook to be deleted after 7 days");

        var afterTime = await (await _app.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
        Assert.False(afterTime.TryGetProperty("duplicate", out duplicate) && duplicate.GetBoolean());
    }

    private static InboxEvent Event(string key, InboxStatus status, DateTimeOffset received, DateTimeOffset? processed) => new()
    {
        DedupKey = $"retention-{Guid.NewGuid():N}-{key}",
        EventType = "message.new",
        Payload = "{}",
        ReceivedAt = received,
        Status = status,
        NextAttemptAt = status == InboxStatus.Pending ? NeverDue : received,
        ProcessedAt = processed,
    };

    private static Notification Notification(string key, NotificationStatus status, DateTimeOffset created) => new()
    {
        DedupKey = $"retention-{Guid.NewGuid():N}-{key}",
        RecipientUserId = "owner-1",
        Title = "Dr Vet",
        Body = "hello",
        AppointmentId = "apt-1",
        ChannelId = "appointment-apt-1",
        Status = status,
        CreatedAt = created,
        NextAttemptAt = status == NotificationStatus.Pending ? NeverDue : created,
        SentAt = status == NotificationStatus.Sent ? created : null,
    };

    private static PushDelivery Delivery(Notification notification, string token) => new()
    {
        NotificationId = notification.Id,
        Token = token,
        Status = DeliveryStatus.Sent,
        Attempts = 1,
        At = notification.CreatedAt,
    };
}

public sealed class RetentionTestsOnSqlite() : RetentionTests(DatabaseKind.Sqlite);

public sealed class RetentionTestsOnPostgres() : RetentionTests(DatabaseKind.Postgres);
