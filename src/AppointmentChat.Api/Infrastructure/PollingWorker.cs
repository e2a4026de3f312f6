using System.Diagnostics;
using System.Threading.Channels;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>Section <c>Workers</c>: what the background workers share.</summary>
internal sealed class WorkerOptions
{
    public const string Section = "Workers";

    /// <summary>
    /// How long an instance holds a row it works on. If the instance dies, another takes the row after this;
    /// it must be longer than any one piece of work (a Stream call with its retries, an FCM send).
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Wakes a <see cref="PollingWorker"/> when there is new work, instead of waiting for its next poll.</summary>
internal abstract class WorkSignal
{
    private static readonly TimeSpan ClockJump = TimeSpan.FromMilliseconds(50);

    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _signal.Writer.TryWrite(true);

    /// <summary>Waits for a wake-up or until <paramref name="deadline"/> on <paramref name="time"/>'s clock.</summary>
    public async Task WaitAsync(DateTimeOffset deadline, TimeProvider time, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = _signal.Reader.WaitToReadAsync(linked.Token).AsTask();
        while (true)
        {
            var now = time.GetUtcNow();
            if (now >= deadline)
            {
                break;
            }

            using var timer = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
            var elapsed = Task.Delay(deadline - now, time, timer.Token);

            // A clock that jumped while the timer was being set (a test's fake clock) would leave it late: set it again.
            if (time.GetUtcNow() - now > ClockJump)
            {
                await timer.CancelAsync();
                continue;
            }

            await Task.WhenAny(woken, elapsed);
            break;
        }

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

    /// <summary>What a pass does, as its span is named (<c>process webhooks</c>, …).</summary>
    protected abstract string PassName { get; }

    /// <summary>The longest sleep, so work from other instances is found without a wake-up.</summary>
    protected abstract TimeSpan PollInterval { get; }

    /// <summary>Handles what is due; returns when the next item is due, if known.</summary>
    protected abstract Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wakeAt = Time.GetUtcNow() + PollInterval;

            // Each pass is a trace of its own (its database and Stream calls within it), never part of whatever woke it.
            Activity.Current = null;
            using (var pass = ChatMetrics.Activities.StartActivity(PassName))
            {
                try
                {
                    if (await RunOnceAsync(stoppingToken) is { } next && next < wakeAt)
                    {
                        wakeAt = next;
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    pass?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                    LogPassFailed(logger, ex, GetType().Name);
                }
            }

            try
            {
                await signal.WaitAsync(wakeAt, Time, stoppingToken);
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
