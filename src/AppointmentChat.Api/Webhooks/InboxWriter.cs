using System.Data.Common;
using System.Threading.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AppointmentChat.Api.Webhooks;

/// <summary>
/// Stores verified webhooks in the inbox with group commit: the events that arrive while one transaction
/// commits are written together in the next, so a burst costs one durable commit (one fsync) per batch
/// instead of one per event. Each caller still waits for its own event to be committed before it answers
/// 200, so nothing acknowledged can be lost. A batch that fails is retried event by event, so one bad
/// event never fails the others.
/// </summary>
internal abstract partial class InboxWriter(ILogger<InboxWriter> logger) : BackgroundService
{
    /// <summary>Most events in one transaction.</summary>
    private const int MaxBatch = 256;

    private readonly Channel<PendingWrite> _queue = Channel.CreateBounded<PendingWrite>(
        new BoundedChannelOptions(16 * MaxBatch) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Stores <paramref name="inbox"/> unless an event with its key is stored; true when this call stored it.</summary>
    /// <exception cref="TimeoutException">The service is stopping (a transient failure: the caller gets 503 and Stream retries).</exception>
    public async Task<bool> TryStoreAsync(InboxEvent inbox, CancellationToken cancellationToken)
    {
        var write = new PendingWrite(inbox);
        try
        {
            await _queue.Writer.WriteAsync(write, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new TimeoutException("The service is stopping and no longer stores webhooks.");
        }

        // Once queued, the event is committed whether or not the caller still waits (Stream would retry anyway).
        return await write.Stored.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await WriteQueuedAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Stopping: take no more, and commit what callers are already waiting for.
        _queue.Writer.TryComplete();
        await WriteQueuedAsync(CancellationToken.None);
    }

    /// <summary>
    /// Writes what is queued, a batch per turn at the database. The batch is taken once the turn is ours, so
    /// the events that arrived while this writer waited for it are committed with it rather than after it.
    /// </summary>
    private async Task WriteQueuedAsync(CancellationToken cancellationToken)
    {
        while (_queue.Reader.Count > 0)
        {
            using var turn = await TurnAsync(cancellationToken);
            var batch = new List<PendingWrite>(Math.Min(_queue.Reader.Count, MaxBatch));
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var write))
            {
                batch.Add(write);
            }

            await WriteAsync(batch, cancellationToken);
        }
    }

    /// <summary>Waits until this writer may write (SQLite: its turn at the write gate); dispose the result after committing.</summary>
    protected virtual ValueTask<WriteTurns.Turn> TurnAsync(CancellationToken cancellationToken) => ValueTask.FromResult(default(WriteTurns.Turn));

    private async Task WriteAsync(List<PendingWrite> batch, CancellationToken cancellationToken)
    {
        try
        {
            var stored = await InsertAsync(batch.ConvertAll(w => w.Event), cancellationToken);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Stored.TrySetResult(stored[i]);
            }
        }
        catch (Exception ex) when (batch.Count > 1 && ex is not OperationCanceledException)
        {
            LogBatchFailed(logger, ex, batch.Count);
            foreach (var write in batch)
            {
                await WriteAsync([write], cancellationToken);
            }
        }
        catch (Exception ex)
        {
            foreach (var write in batch)
            {
                write.Stored.TrySetException(ex);
            }
        }
    }

    /// <summary>
    /// Moves events stored outside the inbox into it (SQLite's staging file), leased to the caller until
    /// <paramref name="leaseUntil"/> so that it processes them without claiming them; their ids. Elsewhere there are none.
    /// </summary>
    public virtual Task<List<long>> MoveStagedAsync(DateTimeOffset leaseUntil, string leaseOwner, CancellationToken cancellationToken) => Task.FromResult(new List<long>());

    /// <summary>Events stored but not yet moved into the inbox that arrived before <paramref name="cutoff"/>.</summary>
    public virtual Task<int> StagedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <summary>Inserts the events in one transaction (<c>ON CONFLICT DO NOTHING</c>); for each, whether it was stored.</summary>
    protected abstract Task<bool[]> InsertAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken);

    protected const string InsertSql = """
        INSERT INTO webhook_inbox ("DedupKey", "EventType", "ChannelId", "Payload", "ReceivedAt", "Status", "Attempts", "NextAttemptAt")
        VALUES (@key, @type, @channel, @payload, @received, @status, 0, @next)
        ON CONFLICT ("DedupKey") DO NOTHING
        """;

    protected static readonly string PendingName = EnumNames<InboxStatus>.ToName(InboxStatus.Pending);

    private sealed class PendingWrite(InboxEvent inbox)
    {
        public InboxEvent Event { get; } = inbox;

        public TaskCompletionSource<bool> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storing {Count} webhooks together failed; storing them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);
}

/// <summary>
/// SQLite: a webhook is committed to a staging file of its own beside the database (<see cref="StagingFile"/>) and
/// acknowledged; the processor moves staged events into the inbox, taking its turn at the database's one writer
/// (<see cref="MoveStagedAsync"/>). With many chats stored, processing holds that writer for milliseconds a batch
/// (each message moves its chat in three activity-ordered indexes), and acknowledgements would wait for their turn
/// behind it; the staging file's writer is only ever held for a staging commit.
/// A redelivery is recognised in either place: the staging file's unique key, or the inbox's (read, never locked).
/// </summary>
internal sealed class SqliteInboxWriter(IOptions<DatabaseOptions> options, WriteTurns gate, ILogger<InboxWriter> logger) : InboxWriter(logger)
{
    /// <summary>Staged events moved per turn at the database's writer: a turn of a few milliseconds.</summary>
    private const int MoveBatch = 200;

    /// <summary>
    /// Most events one call moves: after a burst the processor works through the staging file in steps, so the
    /// events it has leased are processed well within their lease.
    /// </summary>
    private const int MaxMove = 5 * MoveBatch;

    /// <summary>The staging file's writer: the receiver's batches and the processor's moves take turns, in order.</summary>
    private readonly SemaphoreSlim _stagingTurn = new(1, 1);

    /// <summary>Used only during a turn at the staging file's writer.</summary>
    private StagingStatements? _staging;

    /// <summary>Used only during a turn at the database's writer (by the processor's moves).</summary>
    private InboxStatements? _inbox;

    protected override async Task<bool[]> InsertAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            var c = _staging ??= StagingStatements.Open(options.Value.ConnectionString);
            var stored = new bool[events.Count];
            await using var transaction = await c.Staging.BeginTransactionAsync(cancellationToken);
            c.Stage.Transaction = (SqliteTransaction)transaction;
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                c.Known.Parameters["@key"].Value = e.DedupKey;
                if (c.Known.ExecuteScalar() is not null)
                {
                    continue; // already moved into the inbox
                }

                Bind(c.Stage, e);
                stored[i] = c.Stage.ExecuteNonQuery() == 1;
            }

            await transaction.CommitAsync(cancellationToken);
            return stored;
        }
        catch
        {
            ResetStaging();
            throw;
        }
    }

    /// <summary>The receiver's turn is at the staging file's writer, never at the database's.</summary>
    protected override async ValueTask<WriteTurns.Turn> TurnAsync(CancellationToken cancellationToken)
    {
        await _stagingTurn.WaitAsync(cancellationToken);
        return new WriteTurns.Turn(_stagingTurn);
    }

    /// <summary>
    /// Moves staged events into the inbox in arrival order: inserted (a key already there is skipped) and committed,
    /// then removed from the staging file. A crash between the two leaves them staged, and the next move skips them;
    /// a crash after it leaves them leased, and claimed again once the lease has passed.
    /// </summary>
    public override async Task<List<long>> MoveStagedAsync(DateTimeOffset leaseUntil, string leaseOwner, CancellationToken cancellationToken)
    {
        var moved = new List<long>();
        while (true)
        {
            List<(long Seq, InboxEvent Event)> staged;
            using (await TurnAsync(cancellationToken))
            {
                staged = Staged(c => ReadStaged(c, MoveBatch));
            }

            if (staged.Count == 0)
            {
                return moved;
            }

            using (await gate.EnterAsync(cancellationToken))
            {
                moved.AddRange(Inbox(c =>
                {
                    var ids = new List<long>(staged.Count);
                    using var transaction = c.Connection.BeginTransaction();
                    c.Insert.Transaction = transaction;
                    c.Insert.Parameters["@lease_until"].Value = leaseUntil.ToUnixTimeMilliseconds();
                    c.Insert.Parameters["@lease_owner"].Value = leaseOwner;
                    foreach (var (_, e) in staged)
                    {
                        Bind(c.Insert, e);
                        if (c.Insert.ExecuteScalar() is long id)
                        {
                            ids.Add(id);
                        }
                    }

                    transaction.Commit();
                    return ids;
                }));
            }

            using (await TurnAsync(cancellationToken))
            {
                Staged(c =>
                {
                    c.Unstage.Parameters["@last"].Value = staged[^1].Seq;
                    return c.Unstage.ExecuteNonQuery();
                });
            }

            if (staged.Count < MoveBatch || moved.Count >= MaxMove)
            {
                return moved;
            }
        }
    }

    public override async Task<int> StagedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        using (await TurnAsync(cancellationToken))
        {
            return Staged(c =>
            {
                c.Waiting.Parameters["@cutoff"].Value = cutoff.ToUnixTimeMilliseconds();
                return Convert.ToInt32(c.Waiting.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            });
        }
    }

    /// <summary>
    /// The staging file: the database's file name with <c>.webhooks</c> before its extension, in the same folder
    /// (<c>appointment-chat.webhooks.db</c>). It holds acknowledged webhooks until they are moved: keep it with the database.
    /// </summary>
    public static string StagingFile(string connectionString)
    {
        var source = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrEmpty(source) || source.StartsWith(':'))
        {
            throw new InvalidOperationException("Webhooks on SQLite need a database file; the connection string names none.");
        }

        return Path.Combine(Path.GetDirectoryName(source) ?? "", Path.GetFileNameWithoutExtension(source) + ".webhooks" + Path.GetExtension(source));
    }

    public override void Dispose()
    {
        ResetStaging();
        _inbox?.Dispose();
        _inbox = null;
        _stagingTurn.Dispose();
        base.Dispose();
    }

    /// <summary>Runs <paramref name="work"/> on the staging file's statements (during a turn at its writer); a failure reopens them next time.</summary>
    private T Staged<T>(Func<StagingStatements, T> work)
    {
        try
        {
            return work(_staging ??= StagingStatements.Open(options.Value.ConnectionString));
        }
        catch
        {
            ResetStaging();
            throw;
        }
    }

    /// <summary>Runs <paramref name="work"/> on the inbox's statements (during a turn at the database's writer).</summary>
    private T Inbox<T>(Func<InboxStatements, T> work)
    {
        try
        {
            return work(_inbox ??= InboxStatements.Open(options.Value.ConnectionString));
        }
        catch
        {
            _inbox?.Dispose();
            _inbox = null;
            throw;
        }
    }

    private void ResetStaging()
    {
        _staging?.Dispose();
        _staging = null;
    }

    private static List<(long, InboxEvent)> ReadStaged(StagingStatements c, int limit)
    {
        c.Staged.Parameters["@limit"].Value = limit;
        using var reader = c.Staged.ExecuteReader();
        var staged = new List<(long, InboxEvent)>();
        while (reader.Read())
        {
            staged.Add((reader.GetInt64(0), new InboxEvent
            {
                DedupKey = reader.GetString(1),
                EventType = reader.GetString(2),
                ChannelId = reader.IsDBNull(3) ? null : reader.GetString(3),
                Payload = reader.GetString(4),
                ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                NextAttemptAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
            }));
        }

        return staged;
    }

    private static void Bind(SqliteCommand command, InboxEvent e)
    {
        command.Parameters["@key"].Value = e.DedupKey;
        command.Parameters["@type"].Value = e.EventType;
        command.Parameters["@channel"].Value = (object?)e.ChannelId ?? DBNull.Value;
        command.Parameters["@payload"].Value = e.Payload;
        command.Parameters["@received"].Value = e.ReceivedAt.ToUnixTimeMilliseconds();
        command.Parameters["@next"].Value = e.NextAttemptAt.ToUnixTimeMilliseconds();
    }

    /// <summary>Connections opened with their statements prepared, all closed together.</summary>
    private abstract class OwnedStatements : IDisposable
    {
        private readonly List<IDisposable> _owned = [];

        public void Dispose()
        {
            for (var i = _owned.Count - 1; i >= 0; i--)
            {
                _owned[i].Dispose();
            }

            _owned.Clear();
        }

        protected SqliteConnection Connect(string connectionString)
        {
            var connection = new SqliteConnection(connectionString);
            _owned.Add(connection);
            connection.Open();
            SqliteBusyTimeout.Apply(connection);
            return connection;
        }

        protected SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
        {
            var command = connection.CreateCommand();
            _owned.Add(command);
            command.CommandText = sql;
            foreach (var name in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            command.Prepare();
            return command;
        }

        protected static T Opened<T>(T statements, Action<T> open) where T : OwnedStatements
        {
            try
            {
                open(statements);
                return statements;
            }
            catch
            {
                statements.Dispose();
                throw;
            }
        }
    }

    /// <summary>The staging file, and the inbox's keys looked up on a read-only connection (in WAL mode a read never waits for a writer).</summary>
    private sealed class StagingStatements : OwnedStatements
    {
        private const string Schema = """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS staged_webhooks (
                "Seq" INTEGER PRIMARY KEY AUTOINCREMENT,
                "DedupKey" TEXT NOT NULL UNIQUE,
                "EventType" TEXT NOT NULL,
                "ChannelId" TEXT NULL,
                "Payload" TEXT NOT NULL,
                "ReceivedAt" INTEGER NOT NULL,
                "NextAttemptAt" INTEGER NOT NULL);
            """;

        public SqliteConnection Staging { get; private set; } = null!;

        public SqliteCommand Stage { get; private set; } = null!;

        public SqliteCommand Staged { get; private set; } = null!;

        public SqliteCommand Unstage { get; private set; } = null!;

        public SqliteCommand Waiting { get; private set; } = null!;

        public SqliteCommand Known { get; private set; } = null!;

        public static StagingStatements Open(string connectionString) => Opened(new StagingStatements(), c =>
        {
            c.Staging = c.Connect(new SqliteConnectionStringBuilder { DataSource = StagingFile(connectionString), Pooling = false }.ToString());
            using (var schema = c.Staging.CreateCommand())
            {
                schema.CommandText = Schema;
                schema.ExecuteNonQuery();
            }

            c.Stage = c.Prepare(c.Staging, """
                INSERT INTO staged_webhooks ("DedupKey", "EventType", "ChannelId", "Payload", "ReceivedAt", "NextAttemptAt")
                VALUES (@key, @type, @channel, @payload, @received, @next)
                ON CONFLICT ("DedupKey") DO NOTHING
                """, "@key", "@type", "@channel", "@payload", "@received", "@next");
            c.Staged = c.Prepare(c.Staging, """
                SELECT "Seq", "DedupKey", "EventType", "ChannelId", "Payload", "ReceivedAt", "NextAttemptAt"
                FROM staged_webhooks ORDER BY "Seq" LIMIT @limit
                """, "@limit");
            c.Unstage = c.Prepare(c.Staging, "DELETE FROM staged_webhooks WHERE \"Seq\" <= @last", "@last");
            // A scan: the file holds only what the processor has not moved yet (a few hundred rows while it keeps up).
            c.Waiting = c.Prepare(c.Staging, "SELECT count(*) FROM staged_webhooks WHERE \"ReceivedAt\" < @cutoff", "@cutoff");
            var lookup = new SqliteConnectionStringBuilder(connectionString) { Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
            c.Known = c.Prepare(c.Connect(lookup), "SELECT 1 FROM webhook_inbox WHERE \"DedupKey\" = @key", "@key");
        });
    }

    /// <summary>The database's inbox, written by the processor's moves.</summary>
    private sealed class InboxStatements : OwnedStatements
    {
        public SqliteConnection Connection { get; private set; } = null!;

        public SqliteCommand Insert { get; private set; } = null!;

        public static InboxStatements Open(string connectionString) => Opened(new InboxStatements(), c =>
        {
            c.Connection = c.Connect(connectionString);
            c.Insert = c.Prepare(c.Connection, $"""
                INSERT INTO webhook_inbox ("DedupKey", "EventType", "ChannelId", "Payload", "ReceivedAt", "Status", "Attempts", "NextAttemptAt", "LeaseUntil", "LeaseOwner")
                VALUES (@key, @type, @channel, @payload, @received, '{PendingName}', 0, @next, @lease_until, @lease_owner)
                ON CONFLICT ("DedupKey") DO NOTHING
                RETURNING "Id"
                """, "@key", "@type", "@channel", "@payload", "@received", "@next", "@lease_until", "@lease_owner");
        });
    }
}

/// <summary>
/// PostgreSQL: all the batch's inserts in one round trip and one commit: a command batch sent without an
/// explicit transaction runs as one implicit transaction (all of it or none), so no BEGIN and COMMIT round trips.
/// </summary>
internal sealed class PostgresInboxWriter(NpgsqlDataSource dataSource, ILogger<InboxWriter> logger) : InboxWriter(logger)
{
    /// <summary>The insert with positional parameters, which a batch needs.</summary>
    private static readonly string PositionalSql = InsertSql.Replace("@key", "$1").Replace("@type", "$2").Replace("@channel", "$3")
        .Replace("@payload", "$4").Replace("@received", "$5").Replace("@status", "$6").Replace("@next", "$7");

    protected override async Task<bool[]> InsertAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var e in events)
        {
            var insert = new NpgsqlBatchCommand(PositionalSql);
            insert.Parameters.Add(new NpgsqlParameter { Value = e.DedupKey });
            insert.Parameters.Add(new NpgsqlParameter { Value = e.EventType });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)e.ChannelId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            insert.Parameters.Add(new NpgsqlParameter { Value = e.Payload });
            insert.Parameters.Add(new NpgsqlParameter { Value = e.ReceivedAt });
            insert.Parameters.Add(new NpgsqlParameter { Value = PendingName });
            insert.Parameters.Add(new NpgsqlParameter { Value = e.NextAttemptAt });
            batch.BatchCommands.Add(insert);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        var stored = new bool[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            stored[i] = batch.BatchCommands[i].RecordsAffected == 1;
        }

        return stored;
    }
}
