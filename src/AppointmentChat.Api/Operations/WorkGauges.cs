using System.Diagnostics;
using System.Diagnostics.Metrics;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Transcripts;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Operations;

/// <summary>
/// The gauges of work waiting and work given up (meter <c>AppointmentChat</c>): the inbox and the outbox, their dead
/// letters, and how the chat scheduler keeps up. One sampler counts them every <c>Telemetry__SampleInterval</c> with a
/// few COUNT queries on the queues' partial indexes and keeps the numbers; a scrape reads those and never queries the
/// database, however many scrapers there are. Only where metrics go somewhere (Prometheus or OTLP) does it sample.
/// </summary>
internal sealed partial class WorkGauges : BackgroundService
{
    private readonly IServiceScopeFactory _scopes;
    private readonly TimeProvider _time;
    private readonly TelemetryOptions _options;
    private readonly bool _exported;
    private readonly ILogger<WorkGauges> _logger;
    private volatile Sample? _last; // null: not sampled yet, or the last sample failed

    public WorkGauges(IServiceScopeFactory scopes, IServiceProvider services, IMeterFactory meters, TimeProvider time, IOptions<TelemetryOptions> options, ILogger<WorkGauges> logger)
    {
        _scopes = scopes;
        _time = time;
        _options = options.Value;
        _exported = Telemetry.MetricsExported(services);
        _logger = logger;

        var meter = meters.Create(ChatMetrics.MeterName); // the same meter as ChatMetrics' (the factory keeps one per name)
        meter.CreateObservableGauge("chat.inbox.depth", () => Read(s => s.InboxPending), "{webhook}", "Webhooks waiting to be processed");
        meter.CreateObservableGauge("chat.inbox.dead", () => Read(s => s.InboxDead), "{webhook}", "Webhooks parked as dead after failing every attempt, while kept (Retention__DeadWebhooks)");
        meter.CreateObservableGauge("chat.outbox.depth", () => Read(s => s.OutboxPending), "{notification}", "Push notifications waiting to be sent");
        meter.CreateObservableGauge("chat.outbox.failed", () => Read(s => s.OutboxFailed), "{notification}", "Push notifications given up after every attempt, while kept (Retention__Notifications)");
        meter.CreateObservableGauge("chat.transcripts.failed", () => Read(s => s.TranscriptsFailed), "{transcript}", "Transcript callbacks given up after every attempt, while kept (Retention__TranscriptCallbacks)");
        meter.CreateObservableGauge("chat.schedule.overdue", ObserveOverdue, "{chat}", "Chats whose change of state (open; close or end) was due longer than Telemetry__OverdueAfter ago, by change");
        meter.CreateObservableGauge("chat.schedule.sync_errors", () => Read(s => s.SyncErrors), "{chat}", "Chats whose last attempt to bring Stream in line failed (retried with backoff)");
        meter.CreateObservableGauge("chat.schedule.lag", () => Read(s => s.ScheduleLagSeconds), "s", "How long the oldest chat due for a change has waited");
    }

    private sealed record Sample(long InboxPending, long InboxDead, long OutboxPending, long OutboxFailed, long TranscriptsFailed, long OverdueOpen, long OverdueClose, long SyncErrors, double ScheduleLagSeconds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_exported)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.SampleInterval, _time);
        do
        {
            Activity.Current = null; // a trace of its own, like the workers' passes
            using var span = ChatMetrics.Activities.StartActivity("sample work gauges");
            try
            {
                _last = await SampleAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Report nothing rather than numbers that are no longer true: the series has a gap an alert can see.
                _last = null;
                span?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                LogSampleFailed(_logger, ex.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<Sample> SampleAsync(CancellationToken cancellationToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var now = _time.GetUtcNow();
        var overdueBefore = now - _options.OverdueAfter;

        var inbox = db.Set<InboxEvent>();
        var outbox = db.Set<Notification>();
        var due = db.Set<Chat>().Where(c => c.SyncDue != null);
        var overdue = await due.CountAsync(c => c.SyncDue < overdueBefore, cancellationToken);
        var overdueClose = await due.CountAsync(
            c => c.SyncDue < overdueBefore && (c.Status == ChatStatus.Active || c.Status == ChatStatus.Ended || c.EndedAt != null), cancellationToken);
        var oldestDue = await due.Where(c => c.SyncDue <= now).MinAsync(c => c.SyncDue, cancellationToken);
        return new Sample(
            InboxPending: await inbox.CountAsync(e => e.Status == InboxStatus.Pending, cancellationToken),
            InboxDead: await inbox.CountAsync(e => e.Status == InboxStatus.Dead, cancellationToken),
            OutboxPending: await outbox.CountAsync(n => n.Status == NotificationStatus.Pending, cancellationToken),
            OutboxFailed: await outbox.CountAsync(n => n.Status == NotificationStatus.Failed, cancellationToken),
            TranscriptsFailed: await db.Set<TranscriptCallback>().CountAsync(c => c.Status == TranscriptCallbackStatus.Failed, cancellationToken),
            OverdueOpen: overdue - overdueClose,
            OverdueClose: overdueClose,
            SyncErrors: await due.CountAsync(c => c.SyncError != null, cancellationToken),
            ScheduleLagSeconds: oldestDue is { } oldest ? (now - oldest).TotalSeconds : 0);
    }

    private IEnumerable<Measurement<T>> Read<T>(Func<Sample, T> value) where T : struct =>
        _last is { } sample ? [new Measurement<T>(value(sample))] : [];

    private IEnumerable<Measurement<long>> ObserveOverdue() => _last is { } sample
        ? [new(sample.OverdueOpen, new KeyValuePair<string, object?>("change", "open")), new(sample.OverdueClose, new KeyValuePair<string, object?>("change", "close"))]
        : [];

    [LoggerMessage(Level = LogLevel.Warning, Message = "The work gauges could not be sampled ({Reason}); they report nothing until the next sample")]
    private static partial void LogSampleFailed(ILogger logger, string reason);
}
