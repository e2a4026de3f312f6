using AppointmentChat.Api.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks;

/// <summary>
/// The upgrade from versions that acknowledged webhooks on SQLite from a staging file of their own beside the database
/// (<c>appointment-chat.webhooks.db</c>). At start, before the inbox's writer and processor, the events still in it
/// join the inbox as pending (one already there is skipped), and the file is removed. A start cut short before the
/// removal moves them again, and the inbox's unique key skips what is there.
/// </summary>
internal sealed partial class StagingFileUpgrade(
    IOptions<DatabaseOptions> options,
    EfInboxInsert inserts,
    WriteTurns turns,
    ILogger<StagingFileUpgrade> logger) : IHostedService
{
    /// <summary>Events per transaction: a file left by a long outage need not be held in memory at once.</summary>
    private const int PageSize = 500;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var database = options.Value;
        if (database.Provider != DatabaseProvider.Sqlite || StagingFile(database.ConnectionString) is not { } file || !File.Exists(file))
        {
            return;
        }

        var (staged, moved) = await MoveAsync(file, cancellationToken);
        foreach (var path in new[] { file, file + "-wal", file + "-shm" })
        {
            File.Delete(path);
        }

        LogMoved(logger, moved, staged, file);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The staging file: the database's file name with <c>.webhooks</c> before its extension, in its folder.</summary>
    public static string? StagingFile(string connectionString)
    {
        var source = new SqliteConnectionStringBuilder(connectionString).DataSource;
        return string.IsNullOrEmpty(source) || source.StartsWith(':')
            ? null
            : Path.Combine(Path.GetDirectoryName(source) ?? "", Path.GetFileNameWithoutExtension(source) + ".webhooks" + Path.GetExtension(source));
    }

    /// <summary>Inserts the staged events into the inbox in arrival order; how many there were, and how many were not there yet.</summary>
    private async Task<(int Staged, int Moved)> MoveAsync(string file, CancellationToken cancellationToken)
    {
        // Read-write, so that what its last writer committed to the WAL is read, and folded into the file on close.
        await using var staging = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        await staging.OpenAsync(cancellationToken);
        await using (var schema = staging.CreateCommand())
        {
            // A file whose schema was never written holds nothing.
            schema.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'staged_webhooks'";
            if (Convert.ToInt64(await schema.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                return (0, 0);
            }
        }

        var (staged, moved, last) = (0, 0, 0L);
        while (await ReadAsync(staging, last, cancellationToken) is { Count: > 0 } page)
        {
            // The inbox writer's own SQLite insert: the page in one transaction, at the database's one writer.
            using (await turns.EnterAsync(cancellationToken))
            {
                moved += (await inserts.InsertAsync(page.ConvertAll(p => p.Event), cancellationToken)).Count(stored => stored);
            }

            staged += page.Count;
            last = page[^1].Seq;
        }

        return (staged, moved);
    }

    private static async Task<List<(long Seq, InboxEvent Event)>> ReadAsync(SqliteConnection staging, long after, CancellationToken cancellationToken)
    {
        await using var command = staging.CreateCommand();
        command.CommandText = """
            SELECT "Seq", "DedupKey", "EventType", "ChannelId", "Payload", "ReceivedAt", "NextAttemptAt" FROM staged_webhooks
            WHERE "Seq" > $after ORDER BY "Seq" LIMIT $limit
            """;
        command.Parameters.AddWithValue("$after", after);
        command.Parameters.AddWithValue("$limit", PageSize);
        var page = new List<(long, InboxEvent)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add((reader.GetInt64(0), new InboxEvent
            {
                DedupKey = reader.GetString(1),
                EventType = reader.GetString(2),
                ChannelId = reader.IsDBNull(3) ? null : reader.GetString(3),
                Payload = reader.GetString(4),
                ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                NextAttemptAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
            }));
        }

        return page;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Moved {Moved} of the {Staged} acknowledged webhooks in the staging file {StagingFile} into the inbox (the others were there already) and removed the file")]
    private static partial void LogMoved(ILogger logger, int moved, int staged, string stagingFile);
}
