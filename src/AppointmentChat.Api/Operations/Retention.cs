using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Transcripts;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Operations;

/// <summary>
/// Section <c>Retention</c>: how long finished work is kept. The inbox and the push outbox are queues that also
/// remember, and at a few thousand webhooks a second that memory would fill the disk within days.
/// </summary>
internal sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>
    /// Processed and ignored webhooks, counted from when they were processed. A redelivery is recognised as one
    /// only while its first delivery is kept, so this is also how long duplicates are caught.
    /// </summary>
    public TimeSpan Webhooks { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Webhooks parked as dead, counted from their arrival: time for operators to look and retry.</summary>
    public TimeSpan DeadWebhooks { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Push notifications no longer pending (sent or given up), with what became of them per device, counted from when they were queued.</summary>
    public TimeSpan Notifications { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Transcript callbacks no longer pending (delivered, given up or discarded), counted from when they were queued: time
    /// for operators to retry one the PMS never took. A chat's transcript is queued once; a chat ended again after its
    /// callback is deleted queues it again.
    /// </summary>
    public TimeSpan TranscriptCallbacks { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often expired rows are looked for.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);
}

internal sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    private static readonly TimeSpan Shortest = TimeSpan.FromDays(1);
    private static readonly TimeSpan Longest = TimeSpan.FromDays(3650);

    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var failures = new List<string>();
        foreach (var (setting, value) in new[]
        {
            ("Retention__Webhooks", options.Webhooks),
            ("Retention__DeadWebhooks", options.DeadWebhooks),
            ("Retention__Notifications", options.Notifications),
            ("Retention__TranscriptCallbacks", options.TranscriptCallbacks),
        })
        {
            // Shorter than a day would forget a delivery while Stream may still retry it, and process the retry again.
            if (value < Shortest || value > Longest)
            {
                failures.Add($"{setting} must be between 1.00:00:00 and 3650.00:00:00.");
            }
        }

        if (options.SweepInterval < TimeSpan.FromSeconds(1) || options.SweepInterval > TimeSpan.FromDays(1))
        {
            failures.Add("Retention__SweepInterval must be between 00:00:01 and 1.00:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal static class RetentionSetup
{
    public static IHostApplicationBuilder AddRetention(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>();
        services.AddSingleton<RetentionSignal>();
        services.AddHostedService<RetentionSweeper>();
        return builder;
    }
}

internal sealed class RetentionSignal : WorkSignal;

/// <summary>
/// Deletes what <see cref="RetentionOptions"/> no longer keeps, oldest first, a batch per transaction, each read
/// from an index that holds only rows it could delete (so a pass costs what it deletes, not what is stored). On
/// SQLite each batch takes its turn at the write gate, small enough not to hold up the webhook processor for long.
/// Every instance sweeps; two deleting the same rows delete them once.
/// </summary>
internal sealed partial class RetentionSweeper(
    IServiceScopeFactory scopes,
    WriteTurns writeTurns,
    RetentionSignal signal,
    ChatMetrics metrics,
    TimeProvider time,
    IOptions<RetentionOptions> options,
    ILogger<RetentionSweeper> logger) : PollingWorker(signal, time, logger)
{
    protected override string PassName => "sweep expired rows";

    protected override TimeSpan PollInterval => options.Value.SweepInterval;

    /// <summary>Rows per transaction: on SQLite a turn at the write gate of ~3 ms (200 rows took ~8 ms, among 300,000 events).</summary>
    private int BatchSize => writeTurns.TakeTurns ? 100 : 1000;

    protected override async Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = Time.GetUtcNow();
        var webhooks = await SweepAsync(ExpiredWebhooksAsync(now - settings.Webhooks), cancellationToken);
        var dead = await SweepAsync(ExpiredDeadWebhooksAsync(now - settings.DeadWebhooks), cancellationToken);
        var notifications = await SweepAsync(ExpiredNotificationsAsync(now - settings.Notifications), cancellationToken);
        var transcripts = await SweepAsync(ExpiredTranscriptCallbacksAsync(now - settings.TranscriptCallbacks), cancellationToken);
        if (webhooks + dead + notifications + transcripts > 0)
        {
            metrics.RetentionDeleted.Add(webhooks, new KeyValuePair<string, object?>("kind", "webhooks"));
            metrics.RetentionDeleted.Add(dead, new KeyValuePair<string, object?>("kind", "dead-webhooks"));
            metrics.RetentionDeleted.Add(notifications, new KeyValuePair<string, object?>("kind", "notifications"));
            metrics.RetentionDeleted.Add(transcripts, new KeyValuePair<string, object?>("kind", "transcript-callbacks"));
            LogSwept(logger, webhooks, dead, notifications, transcripts);
        }

        return null;
    }

    /// <summary>Runs <paramref name="deleteBatch"/> until a batch finds nothing left to delete; the rows deleted.</summary>
    private async Task<long> SweepAsync(Func<ChatDbContext, int, CancellationToken, Task<int>> deleteBatch, CancellationToken cancellationToken)
    {
        long total = 0;
        int deleted;
        do
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
            using var turn = await writeTurns.EnterAsync(cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            deleted = await deleteBatch(db, BatchSize, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            total += deleted;
        }
        while (deleted > 0);

        return total;
    }

    /// <summary>Processed and ignored events (the only ones with a ProcessedAt), from the index of those alone.</summary>
    private static Func<ChatDbContext, int, CancellationToken, Task<int>> ExpiredWebhooksAsync(DateTimeOffset before) =>
        ExpiredEventsAsync(db => db.InboxEvents.Where(e => e.ProcessedAt < before).OrderBy(e => e.ProcessedAt).Select(e => e.Id));

    private static Func<ChatDbContext, int, CancellationToken, Task<int>> ExpiredDeadWebhooksAsync(DateTimeOffset before) =>
        ExpiredEventsAsync(db => db.InboxEvents.Where(e => e.Status == InboxStatus.Dead && e.ReceivedAt < before).OrderBy(e => e.Id).Select(e => e.Id));

    /// <summary>Deletes a batch of the inbox events <paramref name="oldestFirst"/> lists.</summary>
    private static Func<ChatDbContext, int, CancellationToken, Task<int>> ExpiredEventsAsync(Func<ChatDbContext, IQueryable<long>> oldestFirst) =>
        async (db, batch, cancellationToken) =>
        {
            var ids = await oldestFirst(db).Take(batch).ToListAsync(cancellationToken);
            return ids.Count == 0 ? 0 : await db.InboxEvents.Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(cancellationToken);
        };

    /// <summary>Notifications sent or given up, with their deliveries; one still pending is kept however old.</summary>
    private static Func<ChatDbContext, int, CancellationToken, Task<int>> ExpiredNotificationsAsync(DateTimeOffset before) =>
        async (db, batch, cancellationToken) =>
        {
            var ids = await db.Notifications.AsNoTracking()
                .Where(n => n.CreatedAt < before && n.Status != NotificationStatus.Pending)
                .OrderBy(n => n.CreatedAt)
                .Select(n => n.Id)
                .Take(batch)
                .ToListAsync(cancellationToken);
            if (ids.Count == 0)
            {
                return 0;
            }

            await db.PushDeliveries.Where(d => ids.Contains(d.NotificationId)).ExecuteDeleteAsync(cancellationToken);
            return await db.Notifications.Where(n => ids.Contains(n.Id)).ExecuteDeleteAsync(cancellationToken);
        };

    /// <summary>
    /// Transcript callbacks delivered, given up or discarded; a pending one is kept however old. Read in id order, which is
    /// the order they were queued: one row per ended chat, far fewer than webhooks, so no index of their own.
    /// </summary>
    private static Func<ChatDbContext, int, CancellationToken, Task<int>> ExpiredTranscriptCallbacksAsync(DateTimeOffset before) =>
        async (db, batch, cancellationToken) =>
        {
            var callbacks = db.Set<TranscriptCallback>();
            var ids = await callbacks.AsNoTracking()
                .Where(c => c.CreatedAt < before && c.Status != TranscriptCallbackStatus.Pending)
                .OrderBy(c => c.Id)
                .Select(c => c.Id)
                .Take(batch)
                .ToListAsync(cancellationToken);
            return ids.Count == 0 ? 0 : await callbacks.Where(c => ids.Contains(c.Id)).ExecuteDeleteAsync(cancellationToken);
        };

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: deleted {Webhooks} processed webhooks, {DeadWebhooks} dead webhooks, {Notifications} push notifications and {TranscriptCallbacks} transcript callbacks past their keeping time")]
    private static partial void LogSwept(ILogger logger, long webhooks, long deadWebhooks, long notifications, long transcriptCallbacks);
}
