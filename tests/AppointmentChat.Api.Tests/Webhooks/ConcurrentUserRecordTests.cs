using AppointmentChat.Api.Channels;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>
/// A user.updated event for a user whom another transaction is recording at the same moment (a chat being opened, another
/// instance). PostgreSQL only: on SQLite a writing transaction holds the database's write lock from its start
/// (BEGIN IMMEDIATE), so no other writer can record the user between the processor's read and its write.
/// </summary>
public sealed class ConcurrentUserRecordTests(PostgresWebhookApp fixture) : IClassFixture<PostgresWebhookApp>
{
    [Fact]
    public async Task AUserRenamedWhileAnotherTransactionRecordsThatUserIsProcessedAtTheFirstAttemptWithoutAnError()
    {
        var app = await fixture.StartAsync();
        var userId = Ids.New("owner");
        var webhookId = Guid.NewGuid().ToString();
        var errorsBefore = ServiceErrors(app).Count;

        // Another writer records the user and keeps its transaction open while the event is processed: the processor's
        // insert of the same key has to wait for it, then meet the committed row.
        await using var other = new NpgsqlConnection(app.Database.DatabaseUrl);
        await other.OpenAsync();
        await using (var transaction = await other.BeginTransactionAsync())
        {
            await using (var insert = new NpgsqlCommand("""INSERT INTO chat_users ("Id", "Name", "PushedName", "SyncedAt", "UpdatedAt") VALUES (@id, 'From the PMS', 'From the PMS', now(), now())""", other, transaction))
            {
                insert.Parameters.AddWithValue("id", userId);
                await insert.ExecuteNonQueryAsync();
            }

            var body = new JsonObject { ["type"] = "user.updated", ["user"] = new JsonObject { ["id"] = userId, ["name"] = "From Stream" } }.ToJsonString();
            await (await app.AnonymousClient().SendAsync(StreamWebhook.Request(body, webhookId))).ShouldBeOkJsonAsync();
            await Eventually.TrueAsync(() => WaitingForALockAsync(app.Database.DatabaseUrl!), "the processor to wait for the other writer's row");
            await transaction.CommitAsync();
        }

        var processed = await WebhookTestData.ProcessedAsync(app, "id:" + webhookId);
        Assert.Equal(InboxStatus.Processed, processed.Status);
        Assert.Equal(1, processed.Attempts);
        var user = await app.InDatabaseAsync(db => db.ChatUsers.AsNoTracking().SingleAsync(u => u.Id == userId));
        // The practice's name stays; what Stream has now is noted, to be put back.
        Assert.Equal("From the PMS", user.Name);
        Assert.Equal("From Stream", user.PushedName);
        Assert.NotNull(user.SyncedAt);
        Assert.True(errorsBefore == ServiceErrors(app).Count, string.Join("\n", ServiceErrors(app).Skip(errorsBefore)));
    }

    [Fact]
    public async Task ANamelessUserUpdatedMeetingTheDeletionOfThatUserLeavesTheUserDeleted()
    {
        // An erasure unsets the user's name in Stream, then deletes the user's row here; the user.updated event Stream sends
        // for the unset name can arrive while the row is being deleted. It must not bring the row back.
        var app = await fixture.StartAsync();
        var userId = Ids.New("owner");
        var webhookId = Guid.NewGuid().ToString();
        await app.InDatabaseAsync(db => db.Database.ExecuteSqlAsync(
            $"""INSERT INTO chat_users ("Id", "Name", "PushedName", "SyncedAt", "UpdatedAt") VALUES ({userId}, 'Alex Owner', 'Alex Owner', now(), now())"""));

        await using var other = new NpgsqlConnection(app.Database.DatabaseUrl);
        await other.OpenAsync();
        await using (var transaction = await other.BeginTransactionAsync())
        {
            await using (var delete = new NpgsqlCommand("""DELETE FROM chat_users WHERE "Id" = @id""", other, transaction))
            {
                delete.Parameters.AddWithValue("id", userId);
                Assert.Equal(1, await delete.ExecuteNonQueryAsync());
            }

            var body = new JsonObject { ["type"] = "user.updated", ["user"] = new JsonObject { ["id"] = userId } }.ToJsonString();
            await (await app.AnonymousClient().SendAsync(StreamWebhook.Request(body, webhookId))).ShouldBeOkJsonAsync();
            await Eventually.TrueAsync(() => WaitingForALockAsync(app.Database.DatabaseUrl!), "the processor to wait for the deletion");
            await transaction.CommitAsync();
        }

        var processed = await WebhookTestData.ProcessedAsync(app, "id:" + webhookId);
        Assert.Equal(InboxStatus.Processed, processed.Status);
        Assert.False(await app.InDatabaseAsync(db => db.ChatUsers.AnyAsync(u => u.Id == userId)));
    }

    /// <summary>
    /// Errors the service logged, but for Polly's about Stream calls: this fixture has no Stream, and the scheduler's
    /// putting back of the practice's name (which the rename sets off) fails against it, at a time of its own.
    /// </summary>
    private static List<string> ServiceErrors(ChatApp app) =>
        [.. app.Logs.Lines.Where(l => l.Level >= LogLevel.Error && !l.Category.StartsWith("Polly", StringComparison.Ordinal)).Select(l => $"{l.Category}: {l.Message}")];

    private static async Task<bool> WaitingForALockAsync(string databaseUrl)
    {
        await using var connection = new NpgsqlConnection(databaseUrl);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }
}
