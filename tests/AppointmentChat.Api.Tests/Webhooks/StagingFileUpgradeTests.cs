using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>
/// SQLite: earlier versions acknowledged webhooks from a staging file beside the database and moved them into the inbox
/// later. Upgrading with webhooks still in one loses none and processes none twice.
/// </summary>
public sealed class StagingFileUpgradeTests
{
    [Fact]
    public async Task WebhooksLeftInAStagingFileAreProcessedOnceAfterTheUpgradeAndTheFileIsRemoved()
    {
        var database = await TestDatabase.CreateAsync(DatabaseKind.Sqlite);
        var (waiting, movedBeforeTheCrash) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var receivedAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddSeconds(-30).ToUnixTimeMilliseconds());
        Scenario s;
        await using (var earlier = await ChatApp.StartAsync(DatabaseKind.Sqlite, database: database))
        {
            earlier.KeepDatabase = true;
            s = await WebhookTestData.SeedChatAsync(earlier);

            // One staged event had been moved into the inbox and processed, but a crash cut its removal from the file short.
            await earlier.InDatabaseAsync(db =>
            {
                db.InboxEvents.Add(new InboxEvent
                {
                    DedupKey = "id:" + movedBeforeTheCrash,
                    EventType = "custom.moved",
                    Payload = """{"type":"custom.moved"}""",
                    ReceivedAt = receivedAt,
                    NextAttemptAt = receivedAt,
                    Status = InboxStatus.Ignored,
                    Attempts = 1,
                    ProcessedAt = receivedAt,
                });
                return db.SaveChangesAsync();
            });
        }

        var message = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "sent before the upgrade");
        var stagingFile = Path.Combine(database.Folder, "appointment-chat.webhooks.db");
        await StageAsync(stagingFile, [
            ("id:" + movedBeforeTheCrash, "custom.moved", null, """{"type":"custom.moved"}"""),
            ("id:" + waiting, "message.new", s.ChannelId, message)], receivedAt);

        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, database: database);

        Assert.False(File.Exists(stagingFile));
        Assert.False(File.Exists(stagingFile + "-wal"));
        Assert.Contains(app.Logs.Lines, l => l.Message.Contains("Moved 1 of the 2 acknowledged webhooks", StringComparison.Ordinal));
        var processed = await WebhookTestData.ProcessedAsync(app, "id:" + waiting);
        Assert.Equal((InboxStatus.Processed, 1, receivedAt), (processed.Status, processed.Attempts, processed.ReceivedAt));
        Assert.Equal("sent before the upgrade", await app.InDatabaseAsync(db => db.Chats.Where(c => c.ChannelId == s.ChannelId).Select(c => c.LastMessageText).SingleAsync()));
        var already = Assert.Single(await WebhookTestData.InboxAsync(app, e => e.DedupKey == "id:" + movedBeforeTheCrash));
        Assert.Equal((InboxStatus.Ignored, 1), (already.Status, already.Attempts));

        // Stream redelivers it (its first delivery was acknowledged by the earlier version): a duplicate.
        var redelivered = await (await app.AnonymousClient().SendAsync(StreamWebhook.Request(message, waiting))).ShouldBeOkJsonAsync();
        Assert.True(redelivered.GetProperty("duplicate").GetBoolean());
        Assert.Single(await WebhookTestData.InboxAsync(app, e => e.DedupKey == "id:" + waiting));
    }

    /// <summary>
    /// Writes a staging file as the earlier versions did (their schema, in WAL mode), and leaves it as a killed process
    /// did: its commits still in the WAL.
    /// </summary>
    private static async Task StageAsync(string file, (string Key, string Type, string? Channel, string Payload)[] events, DateTimeOffset receivedAt)
    {
        var writing = file + ".writing";
        await using var connection = new SqliteConnection($"Data Source={writing};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            PRAGMA wal_autocheckpoint = 0;
            CREATE TABLE staged_webhooks (
                "Seq" INTEGER PRIMARY KEY AUTOINCREMENT,
                "DedupKey" TEXT NOT NULL UNIQUE,
                "EventType" TEXT NOT NULL,
                "ChannelId" TEXT NULL,
                "Payload" TEXT NOT NULL,
                "ReceivedAt" INTEGER NOT NULL,
                "NextAttemptAt" INTEGER NOT NULL);
            """;
        await command.ExecuteNonQueryAsync();
        foreach (var e in events)
        {
            await using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO staged_webhooks ("DedupKey", "EventType", "ChannelId", "Payload", "ReceivedAt", "NextAttemptAt")
                VALUES ($key, $type, $channel, $payload, $at, $at)
                """;
            insert.Parameters.AddWithValue("$key", e.Key);
            insert.Parameters.AddWithValue("$type", e.Type);
            insert.Parameters.AddWithValue("$channel", (object?)e.Channel ?? DBNull.Value);
            insert.Parameters.AddWithValue("$payload", e.Payload);
            insert.Parameters.AddWithValue("$at", receivedAt.ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync();
        }

        File.Copy(writing, file);
        File.Copy(writing + "-wal", file + "-wal");
    }
}
