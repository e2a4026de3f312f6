using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Transcripts;

/// <summary>
/// The transcript callbacks the dispatcher gave up on (the PMS kept refusing or could not be reached), for operators:
/// listed newest first, queued again once the PMS is back, or discarded. Each write is one conditional statement on a
/// given-up callback, so two operators acting on one act once.
/// </summary>
internal sealed class GivenUpTranscripts(ChatDbContext db, TranscriptDispatcherSignal dispatcher, TimeProvider time) : Infrastructure.IGivenUpWork<GivenUpTranscript>
{
    public static string? ErrorOf(GivenUpTranscript item) => item.Error;

    private IQueryable<TranscriptCallback> Callbacks => db.Set<TranscriptCallback>();

    private IQueryable<TranscriptCallback> GivenUp(long id) => Callbacks.Where(c => c.Id == id && c.Status == TranscriptCallbackStatus.Failed);

    public Task<List<GivenUpTranscript>> ListAsync(int take, CancellationToken cancellationToken) =>
        Project(Callbacks.Where(c => c.Status == TranscriptCallbackStatus.Failed).OrderByDescending(c => c.Id).Take(take))
            .ToListAsync(cancellationToken);

    /// <summary>
    /// Queues a given-up callback again, its attempts counted afresh: the transcript is read from Stream and sent when it
    /// is delivered, under the same delivery id. Null when there is no given-up callback with this id.
    /// </summary>
    public async Task<GivenUpTranscript?> RetryAsync(long id, CancellationToken cancellationToken)
    {
        var callback = await Project(GivenUp(id)).FirstOrDefaultAsync(cancellationToken);
        var requeued = callback is null ? 0 : await GivenUp(id).ExecuteUpdateAsync(set => set
            .SetProperty(c => c.Status, TranscriptCallbackStatus.Pending)
            .SetProperty(c => c.Attempts, 0)
            .SetProperty(c => c.NextAttemptAt, time.GetUtcNow()), cancellationToken);
        if (requeued == 0)
        {
            return null;
        }

        dispatcher.Wake();
        return callback! with { Attempts = 0 };
    }

    /// <summary>Marks a given-up callback discarded: never sent again, kept with its error until retention deletes it.</summary>
    public async Task<GivenUpTranscript?> DiscardAsync(long id, CancellationToken cancellationToken)
    {
        var callback = await Project(GivenUp(id)).FirstOrDefaultAsync(cancellationToken);
        var discarded = callback is null ? 0
            : await GivenUp(id).ExecuteUpdateAsync(set => set.SetProperty(c => c.Status, TranscriptCallbackStatus.Discarded), cancellationToken);
        return discarded == 0 ? null : callback;
    }

    private static IQueryable<GivenUpTranscript> Project(IQueryable<TranscriptCallback> callbacks) =>
        callbacks.AsNoTracking().Select(c => new GivenUpTranscript(c.Id, c.AppointmentId, c.ChannelId, c.OrganisationId, c.CreatedAt, c.Attempts, c.Error));
}

/// <summary>A transcript callback given up on: which chat, whose PMS, when it was queued, its attempts and last error.</summary>
internal sealed record GivenUpTranscript(
    long Id, string AppointmentId, string ChannelId, string OrganisationId, DateTimeOffset QueuedAt, int Attempts, string? Error);
