using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Privacy;

internal sealed class ErasureSignal : WorkSignal;

/// <summary>
/// Resumes erasures left pending — a step failed (Stream unavailable) or the process died half-way — once their retry
/// time comes, so an erasure finishes without anyone asking again; and runs a completed erasure's local steps once more
/// <see cref="Erasures.LateEventsDelay"/> after it completed, for what late webhooks brought back. Steps are idempotent,
/// so an instance racing another, or a repeated request, does no harm.
/// </summary>
internal sealed class ErasureWorker(IServiceScopeFactory scopes, ErasureSignal signal, TimeProvider time, ILogger<ErasureWorker> logger)
    : PollingWorker(signal, time, logger)
{
    private const int Batch = 20;

    /// <summary>How long the worker leaves a new erasure to the request that asked for it.</summary>
    public static readonly TimeSpan RequestGrace = TimeSpan.FromMinutes(2);

    protected override string PassName => "resume erasures";

    protected override TimeSpan PollInterval => TimeSpan.FromMinutes(1);

    protected override async Task<DateTimeOffset?> RunOnceAsync(CancellationToken cancellationToken)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var now = Time.GetUtcNow();
        var due = await db.Erasures.AsNoTracking()
            .Where(e => e.Status == ErasureStatus.Pending && e.NextAttemptAt <= now)
            .OrderBy(e => e.Id).Select(e => e.Id).Take(Batch).ToListAsync(cancellationToken);
        foreach (var id in due)
        {
            using var one = scopes.CreateScope(); // a scope each: one erasure's Stream time budget is not the next one's
            await one.ServiceProvider.GetRequiredService<Erasures>().RunAsync(id, cancellationToken);
        }

        var settled = await db.Erasures.AsNoTracking()
            .Where(e => e.Status == ErasureStatus.Completed && e.NextAttemptAt <= now)
            .OrderBy(e => e.Id).Select(e => e.Id).Take(Batch).ToListAsync(cancellationToken);
        foreach (var id in settled)
        {
            using var one = scopes.CreateScope();
            await one.ServiceProvider.GetRequiredService<Erasures>().SweepLateEventsAsync(id, cancellationToken);
        }

        return await db.Erasures.Where(e => e.NextAttemptAt != null).MinAsync(e => e.NextAttemptAt, cancellationToken);
    }
}
