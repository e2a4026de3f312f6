using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Unread;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Notifications;

internal sealed class PushDispatcherSignal : WorkSignal;

/// <summary>
/// Sends the outbox: each notification to every device of its recipient, through FCM, a claimed batch at a time.
/// A batch's sends are recorded in one commit before any is made, made concurrently, and their outcomes recorded in
/// one commit, so a retry sends only to the devices still owed one and a crash mid-send never causes a second send:
/// a crash can cut off at most the sends of one batch (<see cref="BatchSize"/> notifications, each to every device
/// of its recipient), which are then marked interrupted, not sent again. An unregistered device is removed; 429
/// and 5xx are retried with backoff (honouring Retry-After); a graceful stop finishes the sends under way.
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
    /// <summary>Notifications claimed, and sent, together; also what one crash can cut off.</summary>
    internal const int BatchSize = 20;

    /// <summary>FCM calls at once: a batch whose recipients have one device each, all together.</summary>
    private const int MaxConcurrentSends = BatchSize;

    protected override string PassName => "dispatch pushes";

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
            if (claimed.Count > 0)
            {
                await DispatchAsync(claimed, cancellationToken);
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

    private async Task DispatchAsync(List<long> notificationIds, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var sender = scope.ServiceProvider.GetRequiredService<FcmSender>();
        var notifications = await db.Set<Notification>().Where(n => notificationIds.Contains(n.Id)).OrderBy(n => n.Id).ToListAsync(cancellationToken);
        var recipients = notifications.Select(n => n.RecipientUserId).Distinct().ToList();
        var devices = (await db.Set<Device>().AsNoTracking().Where(d => recipients.Contains(d.UserId)).ToListAsync(cancellationToken))
            .ToLookup(d => d.UserId);
        // The badge each push carries: the recipient's unread messages as of this send (the message itself included).
        var badges = await db.UnreadTotalsAsync(recipients, cancellationToken);
        var deliveries = (await db.Set<PushDelivery>().Where(d => notificationIds.Contains(d.NotificationId)).ToListAsync(cancellationToken))
            .ToDictionary(d => (d.NotificationId, d.Token));

        var sends = new List<Send>();
        foreach (var notification in notifications)
        {
            foreach (var device in devices[notification.RecipientUserId])
            {
                deliveries.TryGetValue((notification.Id, device.Token), out var done);
                if (done?.Status == DeliveryStatus.Sending)
                {
                    // An earlier attempt died mid-send (the process was killed): FCM may have shown it. It is not sent
                    // again, so no device ever shows a push twice; at most this one is lost.
                    done.Status = DeliveryStatus.Interrupted;
                    done.Error = "the process stopped while sending; not sent again to avoid a duplicate";
                    metrics.PushesFailed.Add(1, new KeyValuePair<string, object?>("reason", "interrupted"));
                    LogInterrupted(logger, notification.Id);
                }
                else if (done is null || done.Status == DeliveryStatus.Retrying)
                {
                    var delivery = done ?? db.Add(new PushDelivery { NotificationId = notification.Id, Token = device.Token }).Entity;
                    delivery.Status = DeliveryStatus.Sending;
                    delivery.Attempts++;
                    delivery.At = Time.GetUtcNow();
                    sends.Add(new Send(notification, device, delivery));
                }
            }
        }

        // Written ahead of every send of the batch, so a crash between FCM's answers and their record cannot cause a resend.
        await db.SaveChangesAsync(CancellationToken.None);

        // Not cancelled by shutdown: sends under way finish (FCM's client has its own timeouts), so a graceful stop
        // loses nothing; only a crash can leave deliveries in Sending.
        var results = new FcmResult[sends.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, sends.Count),
            new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentSends },
            async (i, _) => results[i] = await sender.SendAsync(sends[i].Device.Token, sends[i].Notification, badges.GetValueOrDefault(sends[i].Notification.RecipientUserId), CancellationToken.None));

        var unregistered = new List<string>();
        var retries = new Dictionary<long, (string Reason, TimeSpan? After)>();
        for (var i = 0; i < sends.Count; i++)
        {
            var (notification, device, delivery) = sends[i];
            delivery.At = Time.GetUtcNow();
            switch (results[i])
            {
                case FcmResult.Sent:
                    delivery.Status = DeliveryStatus.Sent;
                    delivery.Error = null;
                    metrics.PushesSent.Add(1);
                    break;
                case FcmResult.Unregistered gone:
                    metrics.PushesFailed.Add(1, new KeyValuePair<string, object?>("reason", "unregistered"));
                    delivery.Status = DeliveryStatus.Unregistered;
                    delivery.Error = gone.Reason;
                    if (!unregistered.Contains(device.Token))
                    {
                        unregistered.Add(device.Token);
                    }

                    LogUnregistered(logger, notification.RecipientUserId, gone.Reason);
                    break;
                case FcmResult.Failed failed:
                    metrics.PushesFailed.Add(1, new KeyValuePair<string, object?>("reason", "refused"));
                    delivery.Status = DeliveryStatus.Failed;
                    delivery.Error = failed.Reason;
                    LogFailed(logger, notification.Id, failed.Reason);
                    break;
                case FcmResult.Retry retry:
                    metrics.PushesFailed.Add(1, new KeyValuePair<string, object?>("reason", "retrying"));
                    delivery.Status = DeliveryStatus.Retrying;
                    delivery.Error = retry.Reason;
                    // The longest Retry-After of the notification's devices.
                    var after = retries.TryGetValue(notification.Id, out var earlier) && earlier.After is not null && !(retry.After > earlier.After) ? earlier.After : retry.After;
                    retries[notification.Id] = (retry.Reason, after);
                    break;
            }
        }

        foreach (var notification in notifications)
        {
            Settle(notification, devices[notification.RecipientUserId].Any(), retries.TryGetValue(notification.Id, out var retry) ? retry : null);
        }

        // Even while stopping: what was sent must be known as sent. One commit for the batch's outcomes; a device
        // removed meanwhile (by its user) is no conflict, so a set-based delete in the same transaction.
        await using var transaction = unregistered.Count > 0 ? await db.Database.BeginTransactionAsync(CancellationToken.None) : null;
        await db.SaveChangesAsync(CancellationToken.None);
        if (transaction is not null)
        {
            await db.Set<Device>().Where(d => unregistered.Contains(d.Token)).ExecuteDeleteAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
        }
    }

    /// <summary>The notification's new state: sent, retried later (after the longest Retry-After or the backoff), or given up.</summary>
    private void Settle(Notification notification, bool hasDevices, (string Reason, TimeSpan? After)? retry)
    {
        var settings = options.Value;
        notification.Attempts++;
        notification.LeaseUntil = null;
        notification.LeaseOwner = null;
        if (retry is null)
        {
            notification.Status = NotificationStatus.Sent;
            notification.SentAt = Time.GetUtcNow();
            notification.Error = hasDevices ? null : "the recipient has no registered device";
            return;
        }

        var (reason, retryAfter) = retry.Value;
        if (notification.Attempts >= settings.MaxAttempts)
        {
            notification.Status = NotificationStatus.Failed;
            notification.Error = reason;
            LogGaveUp(logger, notification.Id, notification.Attempts, reason);
        }
        else
        {
            var backoff = Backoff(notification.Attempts, settings.FirstRetryDelay, settings.MaxRetryDelay);
            notification.NextAttemptAt = Time.GetUtcNow() + (retryAfter > backoff ? retryAfter.Value : backoff);
            notification.Error = reason;
            LogRetry(logger, notification.Id, notification.Attempts, reason, notification.NextAttemptAt);
        }
    }

    private sealed record Send(Notification Notification, Device Device, PushDelivery Delivery);

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
