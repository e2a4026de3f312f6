using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Operations;

/// <summary>
/// What the service depends on but an instance cannot fix by being taken out of rotation: Stream, and the inbox and
/// push outbox every instance shares. Each is checked at most every <c>Health__DependencyCheckInterval</c> per
/// instance, however often <c>/health/dependencies</c> is asked (asks meanwhile share one check), and reported
/// Degraded at worst; the last answers are also the gauges <c>chat.dependency.up</c> and <c>chat.backlog.stuck</c>,
/// which start a fresh check when they are read after the interval.
/// </summary>
internal sealed class DependencyChecks
{
    public DependencyChecks(IServiceScopeFactory scopes, IOptions<HealthOptions> health, IOptions<StreamOptions> stream, TimeProvider time, ChatMetrics metrics)
    {
        var interval = health.Value.DependencyCheckInterval;
        Stream = new CachedCheck(() => CheckStreamAsync(scopes, stream.Value, health.Value, time), interval, time);
        Backlog = new CachedCheck(() => CheckBacklogAsync(scopes, health.Value, time), interval, time);
        metrics.ObserveDependency("stream", () => Stream.Peek() is { } result ? result.Status == HealthStatus.Healthy : null);
        metrics.ObserveBacklog("webhooks", () => Backlog.Peek()?.Data.GetValueOrDefault("webhooks") as long?);
        metrics.ObserveBacklog("pushes", () => Backlog.Peek()?.Data.GetValueOrDefault("pushes") as long?);
    }

    public CachedCheck Stream { get; }

    public CachedCheck Backlog { get; }

    private static async Task<HealthCheckResult> CheckStreamAsync(IServiceScopeFactory scopes, StreamOptions stream, HealthOptions health, TimeProvider time)
    {
        if (stream.UseEmulator)
        {
            return HealthCheckResult.Healthy("The built-in Stream emulator (in process).");
        }

        using var timeout = new CancellationTokenSource(health.StreamTimeout, time);
        await using var scope = scopes.CreateAsyncScope();
        try
        {
            var app = await scope.ServiceProvider.GetRequiredService<StreamChatClient>().GetAppAsync(timeout.Token);
            // Stream is up either way; uploads it should refuse are said, not counted as Stream failing.
            return StreamUploadSettings.Accepted(app) is { Count: > 0 } accepted
                ? HealthCheckResult.Healthy($"Stream answers; its file_upload_config takes {string.Join(", ", accepted)} (see docs/stream.md, Attachments).")
                : HealthCheckResult.Healthy("Stream answers.");
        }
        catch (Exception ex) when (ex is StreamApiException or StreamUnavailableException or OperationCanceledException)
        {
            return HealthCheckResult.Degraded(ex is StreamApiException api ? $"Stream answered {(int)api.Status}." : "Stream does not answer.");
        }
    }

    private static async Task<HealthCheckResult> CheckBacklogAsync(IServiceScopeFactory scopes, HealthOptions health, TimeProvider time)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var cutoff = time.GetUtcNow() - health.BacklogThreshold;
        long stuckWebhooks = await db.Set<InboxEvent>().CountAsync(e => e.Status == InboxStatus.Pending && e.ReceivedAt < cutoff);
        long stuckPushes = await db.Set<Notification>().CountAsync(n => n.Status == NotificationStatus.Pending && n.NextAttemptAt < cutoff);
        var counts = new Dictionary<string, object> { ["webhooks"] = stuckWebhooks, ["pushes"] = stuckPushes };
        return stuckWebhooks == 0 && stuckPushes == 0
            ? HealthCheckResult.Healthy("Inbox and outbox are moving.", counts)
            : HealthCheckResult.Degraded($"{stuckWebhooks} webhook(s) and {stuckPushes} push(es) waiting longer than {health.BacklogThreshold}.", data: counts);
    }
}

/// <summary>A check whose answer is kept for <paramref name="interval"/>; callers meanwhile share the one running.</summary>
internal sealed class CachedCheck(Func<Task<HealthCheckResult>> check, TimeSpan interval, TimeProvider time) : IHealthCheck
{
    private readonly Lock _gate = new();
    private HealthCheckResult? _last;
    private long _checkedAt;
    private Task<HealthCheckResult>? _running;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        GetAsync(cancellationToken);

    public Task<HealthCheckResult> GetAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_last is { } last && time.GetElapsedTime(_checkedAt) < interval)
            {
                return Task.FromResult(last);
            }

            _running ??= RunAsync();
            return _running.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The last answer, if any; starts a fresh check (without waiting for it) once that answer is stale.</summary>
    public HealthCheckResult? Peek()
    {
        _ = GetAsync(CancellationToken.None);
        lock (_gate)
        {
            return _last;
        }
    }

    private async Task<HealthCheckResult> RunAsync()
    {
        await Task.Yield(); // run outside the caller's lock
        HealthCheckResult result;
        try
        {
            result = await check();
        }
        catch (Exception ex)
        {
            // A health answer, never a crash: the check's own failure (a database that cannot be reached) is the news.
            result = HealthCheckResult.Degraded($"The check failed ({ex.GetType().Name}).");
        }

        lock (_gate)
        {
            (_last, _checkedAt, _running) = (result, time.GetTimestamp(), null);
        }

        return result;
    }
}
