using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Webhooks;

/// <summary>
/// The inbox's parked events, for operators: listed newest first, queued again, or discarded. Each write is one
/// conditional statement on a dead event, so two operators acting on one event at once act once.
/// </summary>
internal sealed class DeadWebhooks(ChatDbContext db, WebhookProcessorSignal processor, TimeProvider time) : Infrastructure.IGivenUpWork<DeadEvent>
{
    public static string? ErrorOf(DeadEvent item) => item.Error;

    private IQueryable<InboxEvent> Dead(long id) => db.InboxEvents.Where(e => e.Id == id && e.Status == InboxStatus.Dead);

    public Task<List<DeadEvent>> ListAsync(int take, CancellationToken cancellationToken) =>
        db.InboxEvents.AsNoTracking()
            .Where(e => e.Status == InboxStatus.Dead)
            .OrderByDescending(e => e.Id)
            .Take(take)
            .Select(e => new DeadEvent(e.Id, e.DedupKey, e.EventType, e.ChannelId, e.ReceivedAt, e.Attempts, e.Note))
            .ToListAsync(cancellationToken);

    /// <summary>Queues a dead event again, its attempts counted afresh; null when there is no dead event with this id.</summary>
    public async Task<DeadEvent?> RetryAsync(long id, CancellationToken cancellationToken)
    {
        var parked = await Find(id, cancellationToken);
        var requeued = parked is null ? 0 : await Dead(id).ExecuteUpdateAsync(set => set
            .SetProperty(e => e.Status, InboxStatus.Pending)
            .SetProperty(e => e.Attempts, 0)
            .SetProperty(e => e.NextAttemptAt, time.GetUtcNow()), cancellationToken);
        if (requeued == 0)
        {
            return null;
        }

        processor.Wake();
        return parked! with { Attempts = 0 };
    }

    /// <summary>
    /// Never processes a dead event: it is kept, marked discarded with its error, as a processed event is (so retention
    /// deletes it <c>Retention__Webhooks</c> after the discard, and a redelivery is still recognised meanwhile). Null
    /// when there is no dead event with this id.
    /// </summary>
    public async Task<DeadEvent?> DiscardAsync(long id, CancellationToken cancellationToken)
    {
        var parked = await Find(id, cancellationToken);
        var discarded = parked is null ? 0 : await Dead(id).ExecuteUpdateAsync(set => set
            .SetProperty(e => e.Status, InboxStatus.Discarded)
            .SetProperty(e => e.ProcessedAt, time.GetUtcNow()), cancellationToken);
        return discarded == 0 ? null : parked;
    }

    private Task<DeadEvent?> Find(long id, CancellationToken cancellationToken) =>
        Dead(id).AsNoTracking()
            .Select(e => new DeadEvent(e.Id, e.DedupKey, e.EventType, e.ChannelId, e.ReceivedAt, e.Attempts, e.Note))
            .FirstOrDefaultAsync(cancellationToken);
}
