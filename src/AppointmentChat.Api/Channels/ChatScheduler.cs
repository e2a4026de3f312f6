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

    protected override string PassName => "schedule chats";

    protected override TimeSpan PollInterval => options.Value.SchedulerPollInterval;

    protected override async Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken)
    {
        await RunDueAsync(cancellationToken);
        await RestorePracticeNamesAsync(cancellationToken);
        return await UntilNextDueAsync(cancellationToken);
    }

    /// <summary>Names the practice set that someone changed in Stream go back, their calls taking turns like the chats'.</summary>
    private async Task RestorePracticeNamesAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<Stream.StreamPacing>().Use(scope.ServiceProvider.GetRequiredService<SharedStreamTurns>());
        try
        {
            await scope.ServiceProvider.GetRequiredService<ChatUsersInStream>().RestorePracticeNamesAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is Stream.StreamApiException or Stream.StreamUnavailableException)
        {
            LogRestoreFailed(logger, ex.Message); // the next pass tries again
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
        // Many chats can fall due at once (every appointment on the hour): their Stream calls take turns shared by every
        // instance, earliest due first, so a rush is late rather than refused.
        scope.ServiceProvider.GetRequiredService<Stream.StreamPacing>().Use(scope.ServiceProvider.GetRequiredService<SharedStreamTurns>());
        try
        {
            await scope.ServiceProvider.GetRequiredService<AppointmentChats>().ReconcileAsync(appointmentId, cancellationToken);
        }
        catch (Stream.StreamApiException ex) when (!cancellationToken.IsCancellationRequested && ex.IsRateLimited)
        {
            // Calls made on requests took more of Stream's limit than was left for them: not a failure of this chat, so
            // no attempt is counted; it goes again once Stream's window resets.
            scope.ServiceProvider.GetRequiredService<ChatDbContext>().ChangeTracker.Clear();
            var retryAt = Time.GetUtcNow() + (ex.RetryAfter ?? FirstRetry);
            await scope.ServiceProvider.GetRequiredService<ChatRecord>().ReleaseAsync(appointmentId, retryAt, cancellationToken);
            scope.ServiceProvider.GetRequiredService<ChatMetrics>().StreamRateLimited.Add(1);
            LogRateLimited(logger, appointmentId, ex.Operation, retryAt);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Practice names could not be put back in Stream yet ({Reason}); the next pass tries again")]
    private static partial void LogRestoreFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat of appointment {AppointmentId} waits for Stream's rate limit ({Operation}); going again at {RetryAt}")]
    private static partial void LogRateLimited(ILogger logger, string appointmentId, string operation, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat of appointment {AppointmentId} could not be brought in line with Stream (attempt {Attempts}); retrying at {RetryAt}")]
    private static partial void LogRetry(ILogger logger, Exception exception, string appointmentId, int attempts, DateTimeOffset retryAt);
}
