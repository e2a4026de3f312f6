using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>
/// How instances sharing one PostgreSQL claim queued work (the inbox, the push outbox): a batch is taken past the rows
/// another instance holds, so claims made at the same moment get different rows instead of all but one getting none.
/// The events here are not due before 2100, so the service's own processor leaves them alone; the claims select them by
/// their event type.
/// </summary>
public sealed class QueueClaimTests(PostgresWebhookApp fixture) : IClassFixture<PostgresWebhookApp>
{
    [Fact]
    public async Task AQueueClaimPassesOverEventsAnotherTransactionHoldsAndTakesTheNextOnes()
    {
        var app = await fixture.StartAsync();
        var (type, ids) = await SeedEventsAsync(app, 150);

        await using var other = new NpgsqlConnection(app.Database.DatabaseUrl);
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await LockAsync(other, transaction, ids[..100]);

        var claimed = await ClaimAsync(app, type, LockedRows.Skip, 100).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(ids[100..], claimed.Order());
        var leased = await app.InDatabaseAsync(db => db.InboxEvents.AsNoTracking()
            .Where(e => e.EventType == type && e.LeaseOwner == PollingWorker.InstanceId).Select(e => e.Id).ToListAsync());
        Assert.Equal(ids[100..], leased.Order());
    }

    [Fact]
    public async Task AClaimThatWaitsForLockedRowsTakesThemOnceTheOtherTransactionEnds()
    {
        var app = await fixture.StartAsync();
        var (type, ids) = await SeedEventsAsync(app, 20);

        await using var other = new NpgsqlConnection(app.Database.DatabaseUrl);
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await LockAsync(other, transaction, ids[..10]);

        var claim = ClaimAsync(app, type, LockedRows.Wait, 10);
        await Task.Delay(500);
        Assert.False(claim.IsCompleted, "the claim should wait for the rows another transaction holds");
        await transaction.RollbackAsync();

        Assert.Equal(ids[..10], (await claim.WaitAsync(TimeSpan.FromSeconds(10))).Order());
    }

    [Fact]
    public async Task QueueClaimsMadeAtTheSameMomentTakeDifferentEventsAndTogetherTakeThemAll()
    {
        var app = await fixture.StartAsync();
        var (type, ids) = await SeedEventsAsync(app, 400);

        for (var round = 0; round < 5; round++)
        {
            await app.InDatabaseAsync(db => db.InboxEvents.Where(e => e.EventType == type)
                .ExecuteUpdateAsync(set => set.SetProperty(e => e.LeaseUntil, (DateTimeOffset?)null).SetProperty(e => e.LeaseOwner, (string?)null)));

            var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => ClaimAsync(app, type, LockedRows.Skip, 50))));

            Assert.All(claims, claim => Assert.Equal(50, claim.Count));
            Assert.Equal(ids, claims.SelectMany(c => c).Order());
        }
    }

    /// <summary>Pending events of a type of their own, due in 2100; their ids in ascending order.</summary>
    private static async Task<(string Type, long[] Ids)> SeedEventsAsync(ChatApp app, int count)
    {
        var type = "test.claim." + Guid.NewGuid().ToString("N")[..12];
        var due = new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await app.InDatabaseAsync(async db =>
        {
            db.InboxEvents.AddRange(Enumerable.Range(0, count).Select(i => new InboxEvent
            {
                DedupKey = $"{type}:{i}",
                EventType = type,
                Payload = "{}",
                ReceivedAt = DateTimeOffset.UtcNow,
                NextAttemptAt = due.AddSeconds(i),
            }));
            return await db.SaveChangesAsync();
        });
        var ids = await app.InDatabaseAsync(db => db.InboxEvents.AsNoTracking().Where(e => e.EventType == type).OrderBy(e => e.Id).Select(e => e.Id).ToArrayAsync());
        return (type, ids);
    }

    private static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long[] ids)
    {
        await using var command = new NpgsqlCommand("""SELECT "Id" FROM webhook_inbox WHERE "Id" = ANY(@ids) FOR UPDATE""", connection, transaction);
        command.Parameters.AddWithValue("ids", ids);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
        }
    }

    /// <summary>A claim as the processor makes it, of this test's events in due order, each in its own scope (an instance's).</summary>
    private static async Task<List<long>> ClaimAsync(ChatApp app, string type, LockedRows whenLocked, int batchSize)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var now = DateTimeOffset.UtcNow;
        return await scope.ServiceProvider.GetRequiredService<Leases>().ClaimAsync(
            scope.ServiceProvider.GetRequiredService<ChatDbContext>().InboxEvents,
            whenLocked,
            e => e.EventType == type && e.Status == InboxStatus.Pending && (e.LeaseUntil == null || e.LeaseUntil < now),
            e => e.Id,
            e => e.NextAttemptAt,
            e => e.LeaseUntil,
            e => e.LeaseOwner,
            now.AddMinutes(1),
            batchSize,
            CancellationToken.None);
    }
}
