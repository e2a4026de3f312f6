using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>
/// SQLite only: acknowledged webhooks wait in a staging file beside the database until the processor moves them into
/// the inbox (PostgreSQL stores them in the inbox directly). A move interrupted after its inbox commit is finished
/// without storing or processing anything twice.
/// </summary>
public sealed class StagingFileTests
{
    [Fact]
    public async Task AStagedEventAlreadyInTheInboxAsAfterACrashMidMoveIsNotProcessedAgain()
    {
        var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        var id = Guid.NewGuid().ToString();
        await using (var first = await ChatApp.StartAsync(DatabaseKind.Sqlite, database: database, services: WithoutWebhookProcessor))
        {
            first.KeepDatabase = true;
            await (await first.AnonymousClient().SendAsync(StreamWebhook.Request("""{"type":"custom.moved"}""", id))).ShouldBeOkJsonAsync();
            var staged = Assert.Single(await WebhookTestData.StagedAsync(first), e => e.DedupKey == "id:" + id);

            // The move's inbox commit happened, its removal from the staging file did not; the event was processed since.
            await first.InDatabaseAsync(db =>
            {
                db.InboxEvents.Add(new InboxEvent
                {
                    DedupKey = staged.DedupKey,
                    EventType = staged.EventType,
                    Payload = staged.Payload,
                    ReceivedAt = staged.ReceivedAt,
                    NextAttemptAt = staged.NextAttemptAt,
                    Status = InboxStatus.Ignored,
                    Attempts = 1,
                    ProcessedAt = staged.ReceivedAt,
                });
                return db.SaveChangesAsync();
            });
        }

        await using var second = await ChatApp.StartAsync(DatabaseKind.Sqlite, database: database);
        await Eventually.TrueAsync(async () => (await WebhookTestData.StagedAsync(second)).Count == 0, "the staging file to be emptied");
        var stored = Assert.Single(await WebhookTestData.InboxAsync(second, e => e.DedupKey == "id:" + id));
        Assert.Equal((InboxStatus.Ignored, 1), (stored.Status, stored.Attempts));
    }

    private static void WithoutWebhookProcessor(IServiceCollection services) =>
        services.Remove(services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(WebhookProcessor)));
}
