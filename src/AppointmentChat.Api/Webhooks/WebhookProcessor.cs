using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Webhooks.Events;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks;

internal sealed class WebhookProcessorSignal : WorkSignal;

/// <summary>
/// Processes the inbox in order of arrival, each event once: its effects and its "processed" mark are
/// committed together. A claimed batch of up to <see cref="BatchSize"/> events is processed in as few
/// transactions as possible; if one fails, it is rolled back and the events it held (and the rest of the batch)
/// are processed one by one, so a failing event is retried with backoff and finally parked as dead without
/// holding up the events behind it. Events left over from a crash are picked up at start.
/// </summary>
internal sealed partial class WebhookProcessor(
    IServiceScopeFactory scopes,
    WriteTurns writeTurns,
    Leases leases,
    WebhookProcessorSignal signal,
    Notifications.PushDispatcherSignal push,
    Infrastructure.ChatMetrics metrics,
    TimeProvider time,
    IOptions<WebhookOptions> options,
    IOptions<WorkerOptions> workers,
    ILogger<WebhookProcessor> logger) : PollingWorker(signal, time, logger)
{
    private const int BatchSize = 100;

    /// <summary>
    /// How long one transaction goes on taking events of a claimed batch: on SQLite the receiver's inbox commits wait
    /// for it to commit (one writer at a time), so that acknowledgements are not held up behind a long one.
    /// </summary>
    private static readonly TimeSpan TransactionBudget = TimeSpan.FromMilliseconds(8);

    protected override string PassName => "process webhooks";

    protected override TimeSpan PollInterval => options.Value.PollInterval;

    protected override async Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken)
    {
        // Wall-clock time, not the service's clock: a pause for arrivals to join the batch, not a schedule.
        if (options.Value.GatherDelay > TimeSpan.Zero)
        {
            await Task.Delay(options.Value.GatherDelay, cancellationToken);
        }

        List<long> claimed;
        do
        {
            claimed = await ClaimAsync(cancellationToken);
            await ProcessClaimedAsync(claimed, cancellationToken);
        }
        while (claimed.Count == BatchSize);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var now = Time.GetUtcNow();
        var pending = db.InboxEvents.Where(e => e.Status == InboxStatus.Pending);
        metrics.InboxOldestPending(await pending.MinAsync(e => (DateTimeOffset?)e.ReceivedAt, cancellationToken));
        return await pending
            .Where(e => e.LeaseUntil == null || e.LeaseUntil < now)
            .MinAsync(e => (DateTimeOffset?)e.NextAttemptAt, cancellationToken);
    }

    /// <summary>Processes events leased to this processor; what a failed transaction rolled back, one event at a time, so that only the failing one fails.</summary>
    private async Task ProcessClaimedAsync(List<long> claimed, CancellationToken cancellationToken)
    {
        foreach (var id in await ProcessTogetherAsync(claimed, cancellationToken))
        {
            await ProcessAsync(id, cancellationToken);
        }
    }

    private async Task<List<long>> ClaimAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var now = Time.GetUtcNow();
        return await leases.ClaimAsync(
            scope.ServiceProvider.GetRequiredService<ChatDbContext>().InboxEvents,
            LockedRows.Skip,
            e => e.Status == InboxStatus.Pending && e.NextAttemptAt <= now && (e.LeaseUntil == null || e.LeaseUntil < now),
            e => e.Id,
            // Due order, which for new events is arrival order: it walks the (Status, NextAttemptAt) index and stops
            // after a batch, where ordering by Id sorted every pending event first (slower as the backlog grew).
            e => e.NextAttemptAt,
            e => e.LeaseUntil,
            e => e.LeaseOwner,
            now + workers.Value.LeaseDuration,
            BatchSize,
            cancellationToken);
    }

    /// <summary>
    /// Processes the claimed events in as few transactions as it can: on SQLite each goes on only for
    /// <see cref="TransactionBudget"/>, elsewhere one takes them all. Returns the events left unprocessed because
    /// a transaction failed (none, if none did); a failed transaction changed nothing.
    /// </summary>
    private async Task<IEnumerable<long>> ProcessTogetherAsync(List<long> claimed, CancellationToken cancellationToken)
    {
        if (claimed.Count < 2)
        {
            return claimed;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var handler = scope.ServiceProvider.GetRequiredService<StreamEventDispatcher>();
        // Not tracked: they are marked done with one statement per outcome (MarkDoneAsync), not an UPDATE per event.
        var events = await db.Set<InboxEvent>().AsNoTracking().Where(e => claimed.Contains(e.Id)).OrderBy(e => e.Id).ToListAsync(cancellationToken);
        await handler.BeginBatchAsync(events, cancellationToken);

        // A failure rolls back the whole transaction, so EF's savepoint around each SaveChanges is not needed.
        db.Database.AutoSavepointsEnabled = false;
        var done = 0;
        while (done < events.Count)
        {
            var notifications = 0;
            var outcomes = new List<(long Id, EventOutcome Outcome)>();
            try
            {
                using var turn = await writeTurns.EnterAsync(cancellationToken);
                var budget = System.Diagnostics.Stopwatch.StartNew();
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                foreach (var inbox in events.Skip(done))
                {
                    var outcome = await handler.HandleAsync(inbox, cancellationToken);
                    outcomes.Add((inbox.Id, outcome));
                    notifications += outcome.Notifications;
                    if (writeTurns.TakeTurns && budget.Elapsed > TransactionBudget)
                    {
                        break;
                    }
                }

                await handler.FlushAsync(cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
                await MarkDoneAsync(db, outcomes, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                handler.DiscardDeferred();
                LogBatchFailed(logger, ex, events.Count - done);
                return events.Skip(done).Select(e => e.Id);
            }

            done += outcomes.Count;
            if (notifications > 0)
            {
                push.Wake();
            }
        }

        return [];
    }

    /// <summary>
    /// Marks processed events done: one UPDATE per distinct outcome (in a burst of messages, one in all). An event
    /// settled by someone else while it was processed — a privacy erasure redacting it — keeps that record (status,
    /// note, time); only the lease is let go.
    /// </summary>
    private async Task MarkDoneAsync(ChatDbContext db, List<(long Id, EventOutcome Outcome)> outcomes, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        foreach (var group in outcomes.GroupBy(o => (Status(o.Outcome), o.Outcome.Note)))
        {
            var ids = group.Select(o => o.Id).ToList();
            var (status, note) = group.Key;
            // Every SET reads the row as it was, so each tests the status before this statement changes it.
            await db.InboxEvents.Where(e => ids.Contains(e.Id)).ExecuteUpdateAsync(set => set
                .SetProperty(e => e.Status, e => e.Status == InboxStatus.Pending ? status : e.Status)
                .SetProperty(e => e.Note, e => e.Status == InboxStatus.Pending ? note : e.Note)
                .SetProperty(e => e.ProcessedAt, e => e.Status == InboxStatus.Pending ? now : e.ProcessedAt)
                .SetProperty(e => e.Attempts, e => e.Attempts + 1)
                .SetProperty(e => e.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(e => e.LeaseOwner, (string?)null), cancellationToken);
        }
    }

    private static InboxStatus Status(EventOutcome outcome) => outcome.Ignored ? InboxStatus.Ignored : InboxStatus.Processed;

    private async Task ProcessAsync(long id, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var inbox = await db.Set<InboxEvent>().AsNoTracking().SingleAsync(e => e.Id == id, cancellationToken);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var outcome = await scope.ServiceProvider.GetRequiredService<StreamEventDispatcher>().HandleAsync(inbox, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            await MarkDoneAsync(db, [(inbox.Id, outcome)], cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            if (outcome.Notifications > 0)
            {
                push.Wake();
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            await RecordFailureAsync(id, ex, cancellationToken);
        }
    }

    private async Task RecordFailureAsync(long id, Exception exception, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var inbox = await db.Set<InboxEvent>().SingleAsync(e => e.Id == id, cancellationToken);
        var settings = options.Value;
        inbox.LeaseUntil = null;
        inbox.LeaseOwner = null;
        if (inbox.Status != InboxStatus.Pending)
        {
            // Settled by someone else meanwhile (a privacy erasure redacted it): its record stands.
            await db.SaveChangesAsync(cancellationToken);
            return;
        }

        inbox.Attempts++;
        inbox.Note = Truncate($"{exception.GetType().Name}: {exception.Message}", InboxEvent.MaxNoteLength);
        if (inbox.Attempts >= settings.MaxAttempts)
        {
            inbox.Status = InboxStatus.Dead;
            LogDead(logger, exception, inbox.EventType, inbox.Id, inbox.Attempts);
        }
        else
        {
            inbox.NextAttemptAt = Time.GetUtcNow() + Backoff(inbox.Attempts, settings.FirstRetryDelay, settings.MaxRetryDelay);
            LogRetry(logger, exception, inbox.EventType, inbox.Id, inbox.Attempts, inbox.NextAttemptAt);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    [LoggerMessage(Level = LogLevel.Information, Message = "An event among {Count} processed together failed; processing them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventType} #{InboxId} failed (attempt {Attempts}); retrying at {RetryAt}")]
    private static partial void LogRetry(ILogger logger, Exception exception, string eventType, long inboxId, int attempts, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook {EventType} #{InboxId} failed {Attempts} times and is parked as dead")]
    private static partial void LogDead(ILogger logger, Exception exception, string eventType, long inboxId, int attempts);
}
