using System.Threading.Channels;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>Wakes a <see cref="PollingWorker"/> when there is new work, instead of waiting for its next poll.</summary>
internal abstract class WorkSignal
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
/// A background loop over work kept in a table: run what is due, then sleep until the next item is due,
/// the poll interval passes, or someone wakes it. A failed pass is logged and the loop goes on.
/// </summary>
internal abstract partial class PollingWorker(WorkSignal signal, TimeProvider time, ILogger logger) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    /// <summary>The longest sleep, so work from other instances is found without a wake-up.</summary>
    protected abstract TimeSpan PollInterval { get; }

    /// <summary>Handles what is due; returns how long until the next item is due, if known.</summary>
    protected abstract Task<TimeSpan?> RunOnceAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = PollInterval;
            try
            {
                if (await RunOnceAsync(stoppingToken) is { } next && next < wait)
                {
                    wait = next < TimeSpan.Zero ? TimeSpan.Zero : next;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogPassFailed(logger, ex, GetType().Name);
            }

            try
            {
                await signal.WaitAsync(wait, Time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Exponential backoff: <paramref name="first"/> doubled per attempt, capped at <paramref name="max"/>.</summary>
    public static TimeSpan Backoff(int attempts, TimeSpan first, TimeSpan max) =>
        TimeSpan.FromSeconds(Math.Min(max.TotalSeconds, first.TotalSeconds * Math.Pow(2, Math.Clamp(attempts - 1, 0, 20))));

    /// <summary>An id for this process among several instances sharing one database.</summary>
    public static readonly string InstanceId =
        $"{Environment.MachineName[..Math.Min(20, Environment.MachineName.Length)]}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    [LoggerMessage(Level = LogLevel.Error, Message = "{Worker} pass failed; it goes on at the next tick")]
    private static partial void LogPassFailed(ILogger logger, Exception exception, string worker);
}
