using System.Threading.Channels;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Channels;

/// <summary>Wakes the chat scheduler when there is new work, instead of waiting for its next poll.</summary>
internal sealed class ChatSchedulerSignal
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _signal.Writer.TryWrite(true);

    /// <summary>Waits for a wake-up or for <paramref name="timeout"/> on <paramref name="time"/>'s clock.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = _signal.Reader.WaitToReadAsync(linked.Token).AsTask();
        var elapsed = Task.Delay(timeout, time, linked.Token);
        await Task.WhenAny(woken, elapsed);
        await linked.CancelAsync();
        _signal.Reader.TryRead(out _);
    }
}

/// <summary>
/// Runs every chat on its appointment's clock, with no client call: unfreezes it at <c>activatesAt</c>,
/// ends it at <c>closesAt</c>, applies reschedules, vet changes and cancellations. Its state is in the
/// database (<see cref="Appointment.ChatSyncDue"/>), so it survives restarts and catches up on anything
/// missed; a row is claimed with a lease, so several instances never act on one chat at once.
/// </summary>
internal sealed partial class ChatScheduler(
    IServiceScopeFactory scopes,
    ChatSchedulerSignal signal,
    TimeProvider time,
    IOptions<ChatOptions> options,
    ILogger<ChatScheduler> logger) : BackgroundService
{
    private const int BatchSize = 20;
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    private readonly string _instance = $"{Environment.MachineName[..Math.Min(20, Environment.MachineName.Length)]}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = options.Value.SchedulerPollInterval;
            try
            {
                await RunDueAsync(stoppingToken);
                wait = await UntilNextDueAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogLoopFailed(logger, ex);
            }

            try
            {
                await signal.WaitAsync(wait, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Handles every chat that is due now, a batch at a time.</summary>
    public async Task RunDueAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var claimed = await ClaimDueAsync(cancellationToken);
            foreach (var appointmentId in claimed)
            {
                await ProcessAsync(appointmentId, cancellationToken);
            }

            if (claimed.Count < BatchSize)
            {
                return;
            }
        }
    }

    private async Task<List<string>> ClaimDueAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var now = time.GetUtcNow();
        var candidates = await db.Appointments.AsNoTracking()
            .Where(a => a.ChatSyncDue <= now && (a.ChatLeaseUntil == null || a.ChatLeaseUntil < now))
            .OrderBy(a => a.ChatSyncDue)
            .Select(a => a.Id)
            .Take(BatchSize)
            .ToListAsync(cancellationToken);

        var claimed = new List<string>(candidates.Count);
        var leaseUntil = now + Lease;
        foreach (var id in candidates)
        {
            // Only one instance's update matches: the lease is taken atomically.
            var rows = await db.Appointments
                .Where(a => a.Id == id && a.ChatSyncDue <= now && (a.ChatLeaseUntil == null || a.ChatLeaseUntil < now))
                .ExecuteUpdateAsync(set => set.SetProperty(a => a.ChatLeaseUntil, leaseUntil).SetProperty(a => a.ChatLeaseOwner, _instance), cancellationToken);
            if (rows == 1)
            {
                claimed.Add(id);
            }
        }

        return claimed;
    }

    private async Task ProcessAsync(string appointmentId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        try
        {
            await scope.ServiceProvider.GetRequiredService<AppointmentChats>().ReconcileAsync(appointmentId, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
            db.ChangeTracker.Clear();
            var attempts = await db.Appointments.Where(a => a.Id == appointmentId).Select(a => a.ChatSyncAttempts).FirstOrDefaultAsync(cancellationToken) + 1;
            var retryAt = time.GetUtcNow() + Backoff(attempts);
            var error = ex.Message.Length > 500 ? ex.Message[..500] : ex.Message;
            await db.Appointments.Where(a => a.Id == appointmentId).ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatSyncDue, retryAt)
                .SetProperty(a => a.ChatSyncAttempts, attempts)
                .SetProperty(a => a.ChatSyncError, error)
                .SetProperty(a => a.ChatLeaseUntil, (DateTimeOffset?)null)
                .SetProperty(a => a.ChatLeaseOwner, (string?)null), cancellationToken);
            LogRetry(logger, ex, appointmentId, attempts, retryAt);
        }
    }

    private async Task<TimeSpan> UntilNextDueAsync(TimeSpan poll, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var now = time.GetUtcNow();

        // Chats another instance holds are left to it; if it dies, its lease runs out and a poll finds them.
        var next = await scope.ServiceProvider.GetRequiredService<ChatDbContext>().Appointments
            .Where(a => a.ChatSyncDue != null && (a.ChatLeaseUntil == null || a.ChatLeaseUntil < now))
            .MinAsync(a => a.ChatSyncDue, cancellationToken);
        if (next is null)
        {
            return poll;
        }

        var wait = next.Value - now;
        return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait < poll ? wait : poll;
    }

    internal static TimeSpan Backoff(int attempts) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, 5 * Math.Pow(2, Math.Min(attempts - 1, 10))));

    [LoggerMessage(Level = LogLevel.Error, Message = "The chat scheduler loop failed; it goes on at the next tick")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat of appointment {AppointmentId} could not be brought in line with Stream (attempt {Attempts}); retrying at {RetryAt}")]
    private static partial void LogRetry(ILogger logger, Exception exception, string appointmentId, int attempts, DateTimeOffset retryAt);
}
