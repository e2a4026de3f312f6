using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using AppointmentChat.Api.Webhooks.Events;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>
/// A privacy erasure redacts a webhook the processor is handling at that moment: the event keeps the erasure's record.
/// PostgreSQL only: on SQLite the processor holds the database's write lock from its transaction's start (BEGIN
/// IMMEDIATE), so the erasure's write waits until the event is done; the window there is between the processor's
/// read of the event and that start, which no handler can hold open.
/// </summary>
public sealed class RedactedWhileProcessedTests
{
    [Fact]
    public async Task AnEventAnErasureRedactsWhileItIsProcessedKeepsTheErasuresRecord()
    {
        await TestDatabase.RequirePostgresAsync();
        await using var fcm = await FakeFcm.StartAsync();
        var gate = new GatedHandler();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Postgres, WebhookFixture.Settings(fcm), services => services.AddSingleton<IStreamEventHandler>(gate));
        var id = Guid.NewGuid().ToString();
        var body = new JsonObject { ["type"] = GatedHandler.EventType, ["user"] = new JsonObject { ["id"] = "owner-to-erase" } }.ToJsonString();
        await (await app.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
        await gate.Entered.Task.WaitAsync(TimeSpan.FromSeconds(15));

        // What a privacy erasure's webhook step does to an event that names the user and is not processed yet.
        const string note = "Body erased by privacy erasure 1.";
        var erasedAt = DateTimeOffset.UtcNow;
        await app.InDatabaseAsync(db => db.InboxEvents.Where(e => e.DedupKey == "id:" + id).ExecuteUpdateAsync(set => set
            .SetProperty(e => e.Payload, "{}").SetProperty(e => e.Note, note).SetProperty(e => e.Status, InboxStatus.Ignored).SetProperty(e => e.ProcessedAt, erasedAt)));
        gate.Release.SetResult();

        await Eventually.TrueAsync(
            async () => (await WebhookTestData.InboxAsync(app, e => e.DedupKey == "id:" + id)).Single().LeaseOwner is null,
            "the processor to let go of the event");
        var stored = (await WebhookTestData.InboxAsync(app, e => e.DedupKey == "id:" + id)).Single();
        Assert.Equal((InboxStatus.Ignored, note, "{}"), (stored.Status, stored.Note, stored.Payload));
        Assert.Equal(erasedAt, stored.ProcessedAt!.Value, TimeSpan.FromMilliseconds(1));
    }

    /// <summary>A handler that holds its event until the test lets it go, as a slow handler would.</summary>
    private sealed class GatedHandler : IStreamEventHandler
    {
        public const string EventType = "test.gated";

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<string> EventTypes { get; } = [EventType];

        public async Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            return EventOutcome.Done;
        }
    }
}
