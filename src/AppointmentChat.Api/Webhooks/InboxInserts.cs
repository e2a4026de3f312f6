using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Npgsql;

namespace AppointmentChat.Api.Webhooks;

/// <summary>How <see cref="InboxWriter"/> stores a batch: all of it in one transaction, or none of it.</summary>
internal interface IInboxInsert
{
    /// <summary>Inserts the events in one transaction (<c>ON CONFLICT DO NOTHING</c>); for each, whether it was stored.</summary>
    Task<bool[]> InsertAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken);
}

/// <summary>Through EF Core: the inbox's insert per event, in one transaction (SQLite).</summary>
internal sealed class EfInboxInsert(IServiceScopeFactory scopes) : IInboxInsert
{
    public async Task<bool[]> InsertAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var stored = new bool[events.Count];
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < events.Count; i++)
        {
            stored[i] = await db.InsertInboxEventAsync(events[i], cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return stored;
    }
}

/// <summary>
/// PostgreSQL: all the batch's inserts in one round trip and one commit: a command batch sent without an
/// explicit transaction runs as one implicit transaction (all of it or none), so no BEGIN and COMMIT round trips.
/// </summary>
internal sealed class NpgsqlBatchInboxInsert(NpgsqlDataSource dataSource) : IInboxInsert
{
    /// <summary>The inbox's insert with positional parameters, which a batch needs.</summary>
    private static readonly string PositionalSql = Enumerable.Range(0, 7)
        .Aggregate(InboxModel.InsertSql, (sql, i) => sql.Replace($"{{{i}}}", $"${i + 1}", StringComparison.Ordinal));

    private static readonly string PendingName = EnumNames<InboxStatus>.ToName(InboxStatus.Pending);

    public async Task<bool[]> InsertAsync(IReadOnlyList<InboxEvent> events, CancellationToken cancellationToken)
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
