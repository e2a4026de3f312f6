using AppointmentChat.Api.Data;
using AppointmentChat.Api.Stream;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Channels;

/// <summary>The next free turn to call one Stream endpoint, shared by every instance through the database.</summary>
internal sealed class StreamPace
{
    public required string Endpoint { get; init; }

    public DateTimeOffset NextAt { get; set; }
}

internal sealed class StreamPaceConfiguration : IEntityTypeConfiguration<StreamPace>
{
    public void Configure(EntityTypeBuilder<StreamPace> builder)
    {
        builder.ToTable("stream_paces");
        builder.HasKey(p => p.Endpoint);
        builder.Property(p => p.Endpoint).HasMaxLength(64);
    }
}

/// <summary>
/// Turns to call Stream shared by every instance on one database: calls to an endpoint are spaced
/// <see cref="StreamOptions.PacedInterval"/> apart (by default 80 % of Stream's limit), one row per endpoint holding the
/// next free turn — the generic cell rate algorithm, with the database as the one timeline. Spaced so, any second holds
/// at most a few more calls than its share and any minute at most its share plus one, wherever Stream's windows start,
/// so paced work alone never meets Stream's per-second or per-minute limit. A turn is taken with a conditional update
/// (the row still holds the value read), so instances taking turns at once each get their own. Turns follow each
/// instance's clock: instances whose clocks differ by a good part of the interval (0.25 s for Update Channel) space
/// their calls less evenly than that.
/// </summary>
internal sealed class SharedStreamTurns(ChatDbContext db, WriteTurns turns, IOptions<StreamOptions> options) : IStreamTurns
{
    /// <summary>
    /// Stream counts calls on its own clock, in real seconds and minutes: turns follow the real clock whatever clock the
    /// service keeps appointments by (a test's, moved by hand, would hold every turn until it moved).
    /// </summary>
    private static readonly TimeProvider RealTime = TimeProvider.System;

    public async Task WaitTurnAsync(string endpoint, CancellationToken cancellationToken)
    {
        var turn = await TakeTurnAsync(endpoint, cancellationToken);
        var wait = turn - RealTime.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, RealTime, cancellationToken);
        }
    }

    /// <summary>Takes the next free turn for <paramref name="endpoint"/> and returns when it is.</summary>
    public async Task<DateTimeOffset> TakeTurnAsync(string endpoint, CancellationToken cancellationToken)
    {
        var interval = options.Value.PacedInterval(endpoint);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = RealTime.GetUtcNow();
            var next = await db.Set<StreamPace>().AsNoTracking().Where(p => p.Endpoint == endpoint).Select(p => (DateTimeOffset?)p.NextAt)
                .FirstOrDefaultAsync(cancellationToken);
            using (await turns.EnterAsync(cancellationToken))
            {
                if (next is not { } seen)
                {
                    if (await TryStartAsync(endpoint, now + interval, cancellationToken))
                    {
                        return now;
                    }

                    continue; // another instance made the row first
                }

                var turn = seen > now ? seen : now;
                var taken = await db.Set<StreamPace>().Where(p => p.Endpoint == endpoint && p.NextAt == seen)
                    .ExecuteUpdateAsync(set => set.SetProperty(p => p.NextAt, turn + interval), cancellationToken);
                if (taken == 1)
                {
                    return turn;
                }
            }
        }
    }

    private async Task<bool> TryStartAsync(string endpoint, DateTimeOffset nextAt, CancellationToken cancellationToken)
    {
        db.Add(new StreamPace { Endpoint = endpoint, NextAt = nextAt });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            if (await db.Set<StreamPace>().AnyAsync(p => p.Endpoint == endpoint, cancellationToken))
            {
                return false; // made by another instance meanwhile
            }

            throw;
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }
}
