using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>
/// PostgreSQL's fast path for storing a batch of webhooks (<see cref="NpgsqlBatchInboxInsert"/>, one round trip) stores
/// and answers exactly as the plain path (<see cref="EfInboxInsert"/>, EF Core) does: new events stored, a key already
/// stored or repeated within the batch not, every column alike.
/// </summary>
public sealed class InboxInsertsAnswerAlikeTests
{
    [Fact]
    public async Task ThePostgresBatchStoresAndAnswersAsThePlainPathDoes()
    {
        await TestDatabase.RequirePostgresAsync();
        // The webhook processor is out: it would lease and process the stored rows while the test compares them.
        await using var app = await ChatApp.StartAsync(DatabaseKind.Postgres,
            services: services => services.RemoveWorkers(typeof(WebhookProcessor)));
        var plain = ActivatorUtilities.CreateInstance<EfInboxInsert>(app.Services);
        var fast = app.Services.GetRequiredService<NpgsqlBatchInboxInsert>();
        var at = DateTimeOffset.Parse("2026-12-05T07:00:00.123Z", System.Globalization.CultureInfo.InvariantCulture);

        List<InboxEvent> Batch(string prefix) =>
        [
            new() { DedupKey = prefix + "a", EventType = "message.new", ChannelId = "appointment-1", Payload = """{"type":"message.new"}""", ReceivedAt = at, NextAttemptAt = at },
            new() { DedupKey = prefix + "b", EventType = "user.updated", ChannelId = null, Payload = """{"type":"user.updated","é":"ü"}""", ReceivedAt = at.AddSeconds(1), NextAttemptAt = at.AddSeconds(2) },
            new() { DedupKey = prefix + "a", EventType = "message.new", ChannelId = "appointment-1", Payload = """{"again":true}""", ReceivedAt = at, NextAttemptAt = at },
            new() { DedupKey = prefix + "stored", EventType = "channel.updated", ChannelId = "appointment-2", Payload = "{}", ReceivedAt = at, NextAttemptAt = at },
        ];

        await plain.InsertAsync([Batch("plain-")[3]], CancellationToken.None);
        await fast.InsertAsync([Batch("fast-")[3]], CancellationToken.None);
        var plainStored = await plain.InsertAsync(Batch("plain-"), CancellationToken.None);
        var fastStored = await fast.InsertAsync(Batch("fast-"), CancellationToken.None);

        Assert.Equal([true, true, false, false], plainStored);
        Assert.Equal(plainStored, fastStored);
        var rows = await app.InDatabaseAsync(db => db.InboxEvents.AsNoTracking().OrderBy(e => e.Id).ToListAsync());
        string Shape(InboxEvent e, string prefix) =>
            $"{e.DedupKey[prefix.Length..]} {e.EventType} {e.ChannelId} {e.Payload} {e.ReceivedAt:O} {e.NextAttemptAt:O} {e.Status} {e.Attempts} {e.LeaseUntil} {e.LeaseOwner}";
        Assert.Equal(
            rows.Where(e => e.DedupKey.StartsWith("plain-", StringComparison.Ordinal)).Select(e => Shape(e, "plain-")),
            rows.Where(e => e.DedupKey.StartsWith("fast-", StringComparison.Ordinal)).Select(e => Shape(e, "fast-")));
    }
}
