using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>The service's own counters (meter <c>AppointmentChat</c>), exported over OTLP and at /metrics.</summary>
internal sealed class ChatMetrics : IDisposable
{
    public const string MeterName = "AppointmentChat";
    public const string ActivitySourceName = "AppointmentChat";

    /// <summary>Spans for work the service does on its own (database commands, background passes).</summary>
    public static readonly ActivitySource Activities = new(ActivitySourceName);

    private readonly Meter _meter;
    private readonly TimeProvider _time;
    private long _oldestPendingInboxTicks; // 0: none known
    private readonly ConcurrentDictionary<string, Func<bool?>> _dependencies = new();
    private readonly ConcurrentDictionary<string, Func<long?>> _backlog = new();

    public ChatMetrics(IMeterFactory meters, TimeProvider time)
    {
        _time = time;
        _meter = meters.Create(MeterName);
        TokensIssued = _meter.CreateCounter<long>("chat.tokens.issued", description: "Stream user tokens issued");
        ChannelsCreated = _meter.CreateCounter<long>("chat.channels.created", description: "Appointment channels created in Stream");
        ChannelsEnded = _meter.CreateCounter<long>("chat.channels.ended", description: "Appointment chats ended");
        WebhooksReceived = _meter.CreateCounter<long>("chat.webhooks.received", description: "Verified webhooks stored in the inbox");
        WebhooksDuplicates = _meter.CreateCounter<long>("chat.webhooks.duplicates", description: "Webhook redeliveries acknowledged without processing");
        WebhooksRejected = _meter.CreateCounter<long>("chat.webhooks.rejected", description: "Webhooks refused (signature, size, shape)");
        PushesSent = _meter.CreateCounter<long>("chat.pushes.sent", description: "Push notifications FCM accepted, per device");
        PushesFailed = _meter.CreateCounter<long>("chat.pushes.failed", description: "Push attempts FCM refused or that could not reach it, per device");
        ScheduleLateness = _meter.CreateHistogram<double>("chat.schedule.lateness", unit: "s",
            description: "How long after it was due a chat's change of state (opened, frozen, ended) reached Stream, by state reached");
        StreamRateLimited = _meter.CreateCounter<long>("chat.stream.rate_limited", description: "Scheduled chat work put off because Stream answered 429");
        CatchUpMessages = _meter.CreateCounter<long>("chat.catchup.messages", description: "Messages the catch-up pass found that no webhook had brought, by whether they were pushed");
        RetentionDeleted = _meter.CreateCounter<long>("chat.retention.deleted", description: "Rows past their keeping time deleted, by kind (webhooks, dead-webhooks, notifications)");
        _meter.CreateObservableGauge("chat.inbox.lag", ObserveInboxLag, unit: "s", description: "Age of the oldest webhook waiting to be processed");
        _meter.CreateObservableGauge("chat.dependency.up", () => Observe(_dependencies, up => up ? 1 : 0, "dependency"),
            description: "1 while a dependency answers, 0 while it does not, by dependency (stream, redis)");
        _meter.CreateObservableGauge("chat.backlog.stuck", () => Observe(_backlog, count => count, "kind"),
            description: "Webhooks and pushes waiting longer than Health__BacklogThreshold, by kind (webhooks, pushes), as last checked");
    }

    public Counter<long> TokensIssued { get; }

    public Counter<long> ChannelsCreated { get; }

    public Counter<long> ChannelsEnded { get; }

    public Counter<long> WebhooksReceived { get; }

    public Counter<long> WebhooksDuplicates { get; }

    public Counter<long> WebhooksRejected { get; }

    public Counter<long> PushesSent { get; }

    public Counter<long> PushesFailed { get; }

    public Counter<long> RetentionDeleted { get; }

    public Histogram<double> ScheduleLateness { get; }

    public Counter<long> CatchUpMessages { get; }

    public Counter<long> StreamRateLimited { get; }

    /// <summary>A webhook arrived: if nothing was known to be waiting, it is now the oldest.</summary>
    public void InboxReceived(DateTimeOffset receivedAt) =>
        Interlocked.CompareExchange(ref _oldestPendingInboxTicks, receivedAt.UtcTicks, 0);

    /// <summary>After a processor pass: the oldest event still waiting, if any.</summary>
    public void InboxOldestPending(DateTimeOffset? receivedAt) =>
        Interlocked.Exchange(ref _oldestPendingInboxTicks, receivedAt?.UtcTicks ?? 0);

    /// <summary>Reports <paramref name="dependency"/> in <c>chat.dependency.up</c>: true up, false down, null not known yet.</summary>
    public void ObserveDependency(string dependency, Func<bool?> up) => _dependencies[dependency] = up;

    /// <summary>Reports the <paramref name="kind"/> of work (webhooks, pushes) waiting too long in <c>chat.backlog.stuck</c>.</summary>
    public void ObserveBacklog(string kind, Func<long?> stuck) => _backlog[kind] = stuck;

    private static IEnumerable<Measurement<long>> Observe<T>(ConcurrentDictionary<string, Func<T?>> sources, Func<T, long> value, string tag)
        where T : struct
    {
        foreach (var (name, observe) in sources)
        {
            if (observe() is { } known)
            {
                yield return new Measurement<long>(value(known), new KeyValuePair<string, object?>(tag, name));
            }
        }
    }

    private double ObserveInboxLag()
    {
        var ticks = Interlocked.Read(ref _oldestPendingInboxTicks);
        return ticks == 0 ? 0 : Math.Max(0, (_time.GetUtcNow().UtcTicks - ticks) / (double)TimeSpan.TicksPerSecond);
    }

    public void Dispose() => _meter.Dispose();
}
