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
    protected virtual ValueTask<SqliteWriteGate.Turn> TurnAsync(CancellationToken cancellationToken) => ValueTask.FromResult(default(SqliteWriteGate.Turn));

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

/// <summary>SQLite: one write connection kept open with its insert prepared (SQLite has one writer at a time anyway).</summary>
internal sealed class SqliteInboxWriter(IOptions<DatabaseOptions> options, SqliteWriteGate gate, ILogger<InboxWriter> logger) : InboxWriter(logger)
{
    private SqliteConnection? _connection;
    private SqliteCommand? _insert;

    protected override async Task<bool[]> InsertAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            var insert = Prepared();
            var stored = new bool[events.Count];
            await using var transaction = await _connection!.BeginTransactionAsync(cancellationToken);
            insert.Transaction = (SqliteTransaction)transaction;
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                insert.Parameters["@key"].Value = e.DedupKey;
                insert.Parameters["@type"].Value = e.EventType;
                insert.Parameters["@channel"].Value = (object?)e.ChannelId ?? DBNull.Value;
                insert.Parameters["@payload"].Value = e.Payload;
                insert.Parameters["@received"].Value = e.ReceivedAt.ToUnixTimeMilliseconds();
                insert.Parameters["@status"].Value = PendingName;
                insert.Parameters["@next"].Value = e.NextAttemptAt.ToUnixTimeMilliseconds();
                stored[i] = insert.ExecuteNonQuery() == 1;
            }

            await transaction.CommitAsync(cancellationToken);
            return stored;
        }
        catch
        {
            Reset();
            throw;
        }
    }

    /// <summary>The inbox and its processor take turns at SQLite's one writer (<see cref="SqliteWriteGate"/>).</summary>
    protected override ValueTask<SqliteWriteGate.Turn> TurnAsync(CancellationToken cancellationToken) => gate.EnterAsync(cancellationToken);

    public override void Dispose()
    {
        Reset();
        base.Dispose();
    }

    private SqliteCommand Prepared()
    {
        if (_insert is not null)
        {
            return _insert;
        }

        _connection = new SqliteConnection(options.Value.ConnectionString);
        _connection.Open();
        SqliteBusyTimeout.Apply(_connection);
        _insert = _connection.CreateCommand();
        _insert.CommandText = InsertSql;
        foreach (var name in new[] { "@key", "@type", "@channel", "@payload", "@received", "@status", "@next" })
        {
            _insert.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _insert.Prepare();
        return _insert;
    }

    private void Reset()
    {
        _insert?.Dispose();
        _connection?.Dispose();
        _insert = null;
        _connection = null;
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
