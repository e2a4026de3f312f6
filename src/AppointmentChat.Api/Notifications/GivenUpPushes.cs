using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Notifications;

/// <summary>
/// The outbox's notifications the dispatcher gave up on, for operators: listed newest first, queued again, or
/// discarded. Each write is one conditional statement on a given-up notification, so two operators acting on one act once.
/// </summary>
internal sealed class GivenUpPushes(ChatDbContext db, PushDispatcherSignal dispatcher, TimeProvider time) : Infrastructure.IGivenUpWork<GivenUpPush>
{
    public static string? ErrorOf(GivenUpPush item) => item.Error;

    private IQueryable<Notification> GivenUp(long id) => db.Notifications.Where(n => n.Id == id && n.Status == NotificationStatus.Failed);

    public Task<List<GivenUpPush>> ListAsync(int take, CancellationToken cancellationToken) =>
        Project(db.Notifications.Where(n => n.Status == NotificationStatus.Failed).OrderByDescending(n => n.Id).Take(take))
            .ToListAsync(cancellationToken);

    /// <summary>
    /// Queues a given-up notification again, its attempts counted afresh: it goes to the devices still owed it (those
    /// whose send failed for now), never again to one that has it. Null when there is no given-up notification with this id.
    /// </summary>
    public async Task<GivenUpPush?> RetryAsync(long id, CancellationToken cancellationToken)
    {
        var push = await Project(GivenUp(id)).FirstOrDefaultAsync(cancellationToken);
        var requeued = push is null ? 0 : await GivenUp(id).ExecuteUpdateAsync(set => set
            .SetProperty(n => n.Status, NotificationStatus.Pending)
            .SetProperty(n => n.Attempts, 0)
            .SetProperty(n => n.NextAttemptAt, time.GetUtcNow()), cancellationToken);
        if (requeued == 0)
        {
            return null;
        }

        dispatcher.Wake();
        return push! with { Attempts = 0 };
    }

    /// <summary>Marks a given-up notification discarded: never sent again, kept with its error until retention deletes it.</summary>
    public async Task<GivenUpPush?> DiscardAsync(long id, CancellationToken cancellationToken)
    {
        var push = await Project(GivenUp(id)).FirstOrDefaultAsync(cancellationToken);
        var discarded = push is null ? 0 : await GivenUp(id).ExecuteUpdateAsync(set => set.SetProperty(n => n.Status, NotificationStatus.Discarded), cancellationToken);
        return discarded == 0 ? null : push;
    }

    private static IQueryable<GivenUpPush> Project(IQueryable<Notification> notifications) =>
        notifications.AsNoTracking().Select(n => new GivenUpPush(n.Id, n.RecipientUserId, n.AppointmentId, n.ChannelId, n.MessageId, n.CreatedAt, n.Attempts, n.Error));
}

/// <summary>A notification the dispatcher gave up on: whom, about what, when it was queued, its attempts and last error.</summary>
internal sealed record GivenUpPush(
    long Id, string RecipientUserId, string AppointmentId, string ChannelId, string? MessageId, DateTimeOffset QueuedAt, int Attempts, string? Error);
