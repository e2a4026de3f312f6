using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Channels;

/// <summary>Wakes the chat scheduler when a chat has new work.</summary>
internal sealed class ChatSchedulerSignal : WorkSignal;

/// <summary>
/// Runs every chat on its appointment's clock, with no client call: unfreezes it at <c>activatesAt</c>,
/// ends it at <c>closesAt</c>, applies reschedules, vet changes and cancellations. Its state is in the
/// database (<see cref="Chat.SyncDue"/>), so it survives restarts and catches up on anything
/// missed; a row is claimed with a lease, so several instances never act on one chat at once.
/// </summary>
internal sealed partial class ChatScheduler(
    IServiceScopeFactory scopes,
    ChatSchedulerSignal signal,
    TimeProvider time,
    IOptions<ChatOptions> options,
    IOptions<WorkerOptions> workers,
    ILogger<ChatScheduler> logger) : PollingWorker(signal, time, logger)
{
    private const int BatchSize = 20;
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    protected override TimeSpan PollInterval => options.Value.SchedulerPollInterval;

    protected override async Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken)
    {
        await RunDueAsync(cancellationToken);
        return await UntilNextDueAsync(cancellationToken);
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
        var now = Time.GetUtcNow();
        return await scope.ServiceProvider.GetRequiredService<Leases>().ClaimAsync(
            scope.ServiceProvider.GetRequiredService<ChatDbContext>().Chats,
            // Chats are locked by ordinary writes too (a chat opened, a message recorded, the appointment changed): wait for those.
            LockedRows.Wait,
            c => c.SyncDue <= now && (c.LeaseUntil == null || c.LeaseUntil < now),
            c => c.AppointmentId,
            c => c.SyncDue,
            c => c.LeaseUntil,
            c => c.LeaseOwner,
            now + workers.Value.LeaseDuration,
            BatchSize,
            cancellationToken);
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
            scope.ServiceProvider.GetRequiredService<ChatDbContext>().ChangeTracker.Clear();
            var record = scope.ServiceProvider.GetRequiredService<ChatRecord>();
            var attempts = await record.FailedAttemptsAsync(appointmentId, cancellationToken) + 1;
            var retryAt = Time.GetUtcNow() + Backoff(attempts, FirstRetry, MaxBackoff);
            await record.RecordFailureAsync(appointmentId, attempts, ex.Message.Length > 500 ? ex.Message[..500] : ex.Message, retryAt, cancellationToken);
            LogRetry(logger, ex, appointmentId, attempts, retryAt);
        }
    }

    private async Task<DateTimeOffset?> UntilNextDueAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var now = Time.GetUtcNow();

        // Chats another instance holds are left to it; if it dies, its lease runs out and a poll finds them.
        return await scope.ServiceProvider.GetRequiredService<ChatRecord>().NextDueAsync(now, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat of appointment {AppointmentId} could not be brought in line with Stream (attempt {Attempts}); retrying at {RetryAt}")]
    private static partial void LogRetry(ILogger logger, Exception exception, string appointmentId, int attempts, DateTimeOffset retryAt);
}
