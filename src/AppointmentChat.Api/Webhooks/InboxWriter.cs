using System.Threading.Channels;
using AppointmentChat.Api.Data;

namespace AppointmentChat.Api.Webhooks;

/// <summary>
/// Stores verified webhooks in the inbox with group commit: the events that arrive while one transaction
/// commits are written together in the next, so a burst costs one durable commit (one fsync) per batch
/// instead of one per event. Each caller still waits for its own event to be committed before it answers
/// 200, so nothing acknowledged can be lost. A batch that fails is retried event by event, so one bad
/// event never fails the others. How a batch is inserted is the provider's <see cref="IInboxInsert"/>.
/// </summary>
internal sealed partial class InboxWriter(IInboxInsert insert, WriteTurns turns, ILogger<InboxWriter> logger) : BackgroundService
{
    /// <summary>Most events in one transaction.</summary>
    private const int MaxBatch = 256;

    private readonly Channel<PendingWrite> _queue = Channel.CreateBounded<PendingWrite>(
        new BoundedChannelOptions(16 * MaxBatch) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Stores <paramref name="inbox"/> unless an event with its key is stored; true when this call stored it.</summary>
    /// <exception cref="TimeoutException">The service is stopping (a transient failure: the caller gets 503 and Stream retries).</exception>
    public async Task<bool> TryStoreAsync(InboxEvent inbox, CancellationToken cancellationToken)
    {
        var write = new PendingWrite(inbox);
        try
        {
            await _queue.Writer.WriteAsync(write, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new TimeoutException("The service is stopping and no longer stores webhooks.");
        }

        // Once queued, the event is committed whether or not the caller still waits (Stream would retry anyway).
        return await write.Stored.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await WriteQueuedAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Stopping: take no more, and commit what callers are already waiting for.
        _queue.Writer.TryComplete();
        await WriteQueuedAsync(CancellationToken.None);
    }

    /// <summary>
    /// Writes what is queued, a batch per turn at the database's writer (<see cref="WriteTurns"/>). The batch is taken
    /// once the turn is ours, so the events that arrived while this writer waited for it are committed with it rather
    /// than after it.
    /// </summary>
    private async Task WriteQueuedAsync(CancellationToken cancellationToken)
    {
        while (_queue.Reader.Count > 0)
        {
            using var turn = await turns.EnterAsync(cancellationToken);
            var batch = new List<PendingWrite>(Math.Min(_queue.Reader.Count, MaxBatch));
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var write))
            {
                batch.Add(write);
            }

            await WriteAsync(batch, cancellationToken);
        }
    }

    private async Task WriteAsync(List<PendingWrite> batch, CancellationToken cancellationToken)
    {
        try
        {
            var stored = await insert.InsertAsync(batch.ConvertAll(w => w.Event), cancellationToken);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Stored.TrySetResult(stored[i]);
            }
        }
        catch (Exception ex) when (batch.Count > 1 && ex is not OperationCanceledException)
        {
            LogBatchFailed(logger, ex, batch.Count);
            foreach (var write in batch)
            {
                await WriteAsync([write], cancellationToken);
            }
        }
        catch (Exception ex)
        {
            foreach (var write in batch)
            {
                write.Stored.TrySetException(ex);
            }
        }
    }

    private sealed class PendingWrite(InboxEvent inbox)
    {
        public InboxEvent Event { get; } = inbox;

        public TaskCompletionSource<bool> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storing {Count} webhooks together failed; storing them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);
}
