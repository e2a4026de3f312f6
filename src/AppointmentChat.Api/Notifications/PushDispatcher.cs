using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Notifications;

internal sealed class PushDispatcherSignal : WorkSignal;

/// <summary>
/// Sends the outbox: each notification to every device of its recipient, through FCM. Each send is recorded
/// before it is made and its outcome as soon as it is known, so a retry sends only to the devices still owed
/// one and a crash mid-send never causes a second send; an unregistered device is removed; 429 and 5xx are
/// retried with backoff (honouring Retry-After).
/// </summary>
internal sealed partial class PushDispatcher(
    IServiceScopeFactory scopes,
    PushDispatcherSignal signal,
    Infrastructure.ChatMetrics metrics,
    TimeProvider time,
    IOptions<PushOptions> options,
    IOptions<WorkerOptions> workers,
    ILogger<PushDispatcher> logger) : PollingWorker(signal, time, logger)
{
    private const int BatchSize = 20;

    protected override TimeSpan PollInterval => options.Value.PollInterval;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Enabled)
        {
            await base.ExecuteAsync(stoppingToken);
        }
    }

    protected override async Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var claimed = await ClaimAsync(cancellationToken);
            foreach (var id in claimed)
            {
                await DispatchAsync(id, cancellationToken);
            }

            if (claimed.Count < BatchSize)
            {
                break;
            }
        }

        await using var scope = scopes.CreateAsyncScope();
        var now = Time.GetUtcNow();
        var next = await scope.ServiceProvider.GetRequiredService<ChatDbContext>().Set<Notification>()
            .Where(n => n.Status == NotificationStatus.Pending && (n.LeaseUntil == null || n.LeaseUntil < now))
            .MinAsync(n => (DateTimeOffset?)n.NextAttemptAt, cancellationToken);
        return next;
    }

    private async Task<List<long>> ClaimAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var now = Time.GetUtcNow();
        return await scope.ServiceProvider.GetRequiredService<Leases>().ClaimAsync(
            scope.ServiceProvider.GetRequiredService<ChatDbContext>().Notifications,
            LockedRows.Skip,
            n => n.Status == NotificationStatus.Pending && n.NextAttemptAt <= now && (n.LeaseUntil == null || n.LeaseUntil < now),
            n => n.Id,
            // Due order, which for new pushes is the order they were queued: it walks the (Status, NextAttemptAt)
            // index and stops after a batch. In Id order PostgreSQL reads the primary key past every push already
            // sent (kept for the retention period).
            n => n.NextAttemptAt,
            n => n.LeaseUntil,
            n => n.LeaseOwner,
            now + workers.Value.LeaseDuration,
            BatchSize,
            cancellationToken);
    }

    private async Task DispatchAsync(long notificationId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var sender = scope.ServiceProvider.GetRequiredService<FcmSender>();
        var notification = await db.Set<Notification>().SingleAsync(n => n.Id == notificationId, cancellationToken);
        var devices = await db.Set<Device>().Where(d => d.UserId == notification.RecipientUserId).ToListAsync(cancellationToken);
        var deliveries = await db.Set<PushDelivery>().Where(d => d.NotificationId == notificationId).ToDictionaryAsync(d => d.Token, cancellationToken);

        string? retryReason = null;
        TimeSpan? retryAfter = null;
        foreach (var device in devices)
        {
            if (deliveries.TryGetValue(device.Token, out var done) && done.Status == DeliveryStatus.Sending)
            {
                // An earlier attempt died mid-send (the process was killed): FCM may have shown it. It is not sent
                // again, so no device ever shows a push twice; at most this one is lost.
                done.Status = DeliveryStatus.Interrupted;
                done.Error = "the process stopped while sending; not sent again to avoid a duplicate";
                metrics.PushesFailed.Add(1, new KeyValuePair<string, object?>("reason", "interrupted"));
                LogInterrupted(logger, notificationId);
                continue;
            }

            if (done is not null && done.Status != DeliveryStatus.Retrying)
            {
                continue;
            }

            // Written ahead of the send, so a crash between FCM's answer and the outcome's record cannot cause a resend.
            // The same commit records the outcome of the device before (one commit per send, one more at the end).
            var delivery = done ?? db.Add(new PushDelivery { NotificationId = notificationId, Token = device.Token }).Entity;
            delivery.Status = DeliveryStatus.Sending;
            delivery.Attempts++;
            delivery.At = Time.GetUtcNow();
            await db.SaveChangesAsync(CancellationToken.None);

            // Not cancelled by shutdown: a send under way finishes (FCM's client has its own timeouts), so a graceful
            // stop loses nothing; only a crash can leave a delivery in Sending.
            var result = await sender.SendAsync(device.Token, notification, CancellationToken.None);
            delivery.At = Time.GetUtcNow();
            switch (result)
            {
                case FcmResult.Sent:
                    delivery.Status = DeliveryStatus.Sent;
                    delivery.Error = null;
                    metrics.PushesSent.Add(1);
                    break;
                case FcmResult.Unregistered unregistered:
                    metrics.PushesFailed.Add(1, new KeyValuePair<string, object?>("reason", "unregistered"));
                    delivery.Status = DeliveryStatus.Unregistered;
                    delivery.Error = unregistered.Reason;
                    db.Remove(device);
                    LogUnregistered(logger, notification.RecipientUserId, unregistered.Reason);
                    break;
                case FcmResult.Failed failed:
                    metrics.PushesFailed.Add(1, new KeyValuePair<string, object?>("reason", "refused"));
                    delivery.Status = DeliveryStatus.Failed;
                    delivery.Error = failed.Reason;
                    LogFailed(logger, notificationId, failed.Reason);
                    break;
                case FcmResult.Retry retry:
                    metrics.PushesFailed.Add(1, new KeyValuePair<string, object?>("reason", "retrying"));
                    delivery.Status = DeliveryStatus.Retrying;
                    delivery.Error = retry.Reason;
                    retryReason = retry.Reason;
                    retryAfter = retry.After > retryAfter || retryAfter is null ? retry.After : retryAfter;
                    break;
            }
        }

        var settings = options.Value;
        notification.Attempts++;
        notification.LeaseUntil = null;
        notification.LeaseOwner = null;
        if (retryReason is null)
        {
            notification.Status = NotificationStatus.Sent;
            notification.SentAt = Time.GetUtcNow();
            notification.Error = devices.Count == 0 ? "the recipient has no registered device" : null;
        }
        else if (notification.Attempts >= settings.MaxAttempts)
        {
            notification.Status = NotificationStatus.Failed;
            notification.Error = retryReason;
            LogGaveUp(logger, notificationId, notification.Attempts, retryReason);
        }
        else
        {
            var backoff = Backoff(notification.Attempts, settings.FirstRetryDelay, settings.MaxRetryDelay);
            notification.NextAttemptAt = Time.GetUtcNow() + (retryAfter > backoff ? retryAfter.Value : backoff);
            notification.Error = retryReason;
            LogRetry(logger, notificationId, notification.Attempts, retryReason, notification.NextAttemptAt);
        }

        // Even while stopping: what was sent must be known as sent.
        await db.SaveChangesAsync(CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push {NotificationId} was being sent when the process stopped; not sent again, so that no device shows it twice")]
    private static partial void LogInterrupted(ILogger logger, long notificationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "A device of {UserId} is no longer registered ({Reason}); removed")]
    private static partial void LogUnregistered(ILogger logger, string userId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push {NotificationId} refused by FCM: {Reason}")]
    private static partial void LogFailed(ILogger logger, long notificationId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push {NotificationId} not sent yet (attempt {Attempts}: {Reason}); retrying at {RetryAt}")]
    private static partial void LogRetry(ILogger logger, long notificationId, int attempts, string reason, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Push {NotificationId} given up after {Attempts} attempts: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, long notificationId, int attempts, string reason);
}
