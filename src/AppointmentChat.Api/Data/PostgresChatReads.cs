using System.Globalization;
using System.Text;
using Npgsql;

namespace AppointmentChat.Api.Data;

/// <summary>
/// PostgreSQL's fast path for the two hot reads: plain SQL on a small pool of its own, multiplexed — Npgsql writes the
/// commands of concurrent requests together onto a few connections and reads their results back in order, so a burst
/// of reads costs a few system calls and backend wake-ups instead of one round trip each, and none of EF Core's
/// per-query work. Like every connection of the service's, these are not reset when returned
/// (<see cref="DatabaseOptionsSetup.DefaultNoResetOnClose"/>), and each new connection prepares every statement before
/// it serves a read (<see cref="CreateDataSource"/>). A caller who goes away does not cut a read short: Npgsql sends
/// PostgreSQL no cancel request on a multiplexed connection, so the read (one page) runs to its end. EF Core keeps the
/// unmultiplexed data source for every write and transaction. The table and column names are the <c>appointments</c>
/// row's (its appointment and chat halves) and <c>chat_users</c>'.
/// </summary>
internal sealed class PostgresChatReads([FromKeyedServices(PostgresChatReads.DataSourceKey)] NpgsqlDataSource dataSource) : IChatReads
{
    /// <summary>The reads' own data source (pool), a keyed singleton the container disposes at shutdown.</summary>
    public const string DataSourceKey = "chat-reads";

    /// <summary>
    /// Connections of the read pool unless DATABASE_URL allows fewer: multiplexed, each carries many reads at once,
    /// and more of them only add backends competing for the database's cores.
    /// </summary>
    public const int MaxConnections = 6;

    /// <summary>
    /// PostgreSQL plans a prepared statement anew for each execution while it guesses that the values might deserve
    /// another plan, which a bound LIMIT always makes it guess: the list would be planned on every request, which costs
    /// more than running it. These statements' plan is the same whatever the values (an index range read from the
    /// member's key), so the reads' sessions keep the generic one. And they never run in parallel: a generic plan
    /// guesses a vet's chats from the average per vet and the page from a tenth of them, and with every pet owner's
    /// record joined that looks costly enough for two parallel workers, whose start-up costs far more than the list.
    /// </summary>
    private const string SessionSettings = "-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0";

    private const string FactsSql = """
        SELECT "Id", "PetOwnerId", "VetId", "OrganisationId", "StartsAt", "DurationMinutes", "ChatActivationMinutes",
               "Status", "ChannelId", "ChatStatus", "Version", "TimeZone"
        FROM appointments WHERE "Id" = @id LIMIT 1
        """;

    /// <summary>By membership, status filter, cursor and unread filter: every shape of the list query, built once.</summary>
    private static readonly Dictionary<(ChatMembership, bool, bool, bool), string> ListSql = BuildListSql();

    /// <summary>
    /// The reads' data source (<see cref="ConnectionString"/>), whose every new connection runs each statement once, with
    /// values PostgreSQL accepts, before it serves a read. Npgsql prepares a statement by sending its Parse ahead of the
    /// Bind of the run that prepares it, and counts it prepared as soon as the Parse succeeds. If that run's Bind fails
    /// (PostgreSQL refuses a NUL in text: 22021), the statement's row description never arrives: the connection's next
    /// run of it binds it alone, takes it for one that returns no rows and meets its first row ("Received unexpected
    /// backend message DataRow"), which breaks the connection — and on a multiplexed one, every read in flight on it.
    /// Prepared here, no caller's read is ever the preparing run, and a read that fails in the database fails alone.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString) =>
        new NpgsqlDataSourceBuilder(ConnectionString(connectionString))
            .UsePhysicalConnectionInitializer(
                connection =>
                {
                    using var batch = EveryStatement(connection);
                    batch.ExecuteNonQuery();
                },
                async connection =>
                {
                    await using var batch = EveryStatement(connection);
                    await batch.ExecuteNonQueryAsync();
                })
            .Build();

    /// <summary>
    /// The reads' connection string: the service's, multiplexed, at most <see cref="MaxConnections"/>, with generic plans
    /// and no parallel workers; a statement is prepared on its first run (the one <see cref="CreateDataSource"/> makes),
    /// and unless the URL turns automatic preparation off, every statement of the reads keeps its place.
    /// </summary>
    public static string ConnectionString(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Multiplexing = true, AutoPrepareMinUsages = 1 };
        builder.MaxPoolSize = Math.Min(builder.MaxPoolSize, MaxConnections);
        if (builder.MaxAutoPrepare > 0)
        {
            builder.MaxAutoPrepare = Math.Max(builder.MaxAutoPrepare, ListSql.Count + 1);
        }

        if (builder.MinPoolSize > builder.MaxPoolSize)
        {
            builder.MinPoolSize = builder.MaxPoolSize;
        }

        builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? SessionSettings : builder.Options + " " + SessionSettings;
        return builder.ConnectionString;
    }

    public async Task<ChatFactsRow?> FindChatFactsAsync(string appointmentId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(FactsSql);
        AddFactsParameters(command.Parameters, appointmentId);
        await using var row = await command.ExecuteReaderAsync(cancellationToken);
        // An opened chat's response is short: it is written on the connection's read loop, where the result arrived.
        return await row.ReadAsync(cancellationToken)
            ? new ChatFactsRow(
                row.GetString(0),
                row.GetString(1),
                row.GetString(2),
                row.GetString(3),
                row.GetFieldValue<DateTimeOffset>(4),
                row.GetInt32(5),
                row.GetInt32(6),
                row.GetString(7),
                TextOrNull(row, 8),
                TextOrNull(row, 9),
                row.GetInt32(10),
                TextOrNull(row, 11))
            : null;
    }

    public async Task<List<ChatListRow>> ListAsync(ChatMembership membership, string memberId, string? status, ListPosition? after, int take, string readerId, bool unreadOnly, CancellationToken cancellationToken)
    {
        var rows = new List<ChatListRow>(take);
        await using (var command = dataSource.CreateCommand(ListSql[(membership, status is not null, after is not null, unreadOnly)]))
        {
            AddListParameters(command.Parameters, memberId, status, after, take, readerId);
            await using var row = await command.ExecuteReaderAsync(cancellationToken);
            while (await row.ReadAsync(cancellationToken))
            {
                rows.Add(new ChatListRow(
                    row.GetString(0),
                    row.GetString(1),
                    row.GetString(2),
                    row.GetString(3),
                    TextOrNull(row, 4),
                    TextOrNull(row, 5),
                    row.IsDBNull(6) ? null : row.GetFieldValue<DateTimeOffset>(6),
                    TextOrNull(row, 7),
                    row.GetFieldValue<DateTimeOffset>(8),
                    row.GetInt32(9),
                    row.GetInt32(10),
                    row.GetFieldValue<DateTimeOffset>(11),
                    row.GetInt32(12),
                    row.IsDBNull(13) ? null : row.GetFieldValue<DateTimeOffset>(13),
                    row.GetString(14)));
            }
        }

        // A multiplexed command's result arrives on its connection's read loop, and this method continued there. A list
        // leaves it, so that the rest of its request (a page's JSON, the socket) does not hold up the reads behind it.
        await Task.Yield();
        return rows;
    }

    private static string? TextOrNull(NpgsqlDataReader row, int column) => row.IsDBNull(column) ? null : row.GetString(column);

    // A statement is prepared under its SQL and its parameters' types: the reads and the preparing run bind them alike.
    private static void AddFactsParameters(NpgsqlParameterCollection parameters, string appointmentId) =>
        parameters.AddWithValue("id", appointmentId);

    private static void AddListParameters(NpgsqlParameterCollection parameters, string memberId, string? status, ListPosition? after, int take, string readerId)
    {
        parameters.AddWithValue("member", memberId);
        parameters.AddWithValue("reader", readerId);
        parameters.AddWithValue("take", take);
        if (status is { } wanted)
        {
            parameters.AddWithValue("status", wanted);
        }

        if (after is { } cursor)
        {
            parameters.AddWithValue("after_at", cursor.LastActivityAt);
            parameters.AddWithValue("after_id", cursor.AppointmentId);
        }
    }

    /// <summary>Every statement of the reads, with values that match no row: one round trip that prepares them all.</summary>
    private static NpgsqlBatch EveryStatement(NpgsqlConnection connection)
    {
        var batch = new NpgsqlBatch(connection);
        var facts = new NpgsqlBatchCommand(FactsSql);
        AddFactsParameters(facts.Parameters, "");
        batch.BatchCommands.Add(facts);
        foreach (var ((_, byStatus, byCursor, _), sql) in ListSql)
        {
            var list = new NpgsqlBatchCommand(sql);
            AddListParameters(list.Parameters, "", byStatus ? "" : null, byCursor ? new ListPosition(DateTimeOffset.UnixEpoch, "") : null, 1, "");
            batch.BatchCommands.Add(list);
        }

        return batch;
    }

    private static Dictionary<(ChatMembership, bool, bool, bool), string> BuildListSql()
    {
        const string order = "ORDER BY \"LastActivityAt\" DESC, \"Id\" DESC LIMIT @take";

        // The chats of one membership column, newest first: the partial indexes ix_chats_by_* are (member, LastActivityAt,
        // Id) where ChannelId IS NOT NULL, and the row-value comparison lets the database seek straight to the cursor. The
        // pet owner's name is chosen in SQL: as Stream last reported it (user.updated), else as the PMS gave it. The reader's
        // unread count is joined by its key (unread_counts: reader, channel); without a row it is 0 and its date null.
        static string Chats(string column, bool byStatus, bool byCursor, bool byUnread)
        {
            var sql = new StringBuilder("""
                SELECT a."Id", a."ChannelId", a."PetOwnerId", a."VetId", COALESCE(u."Name", a."PetOwnerName") AS "PetOwnerName", a."LastMessageText",
                       a."LastMessageAt", a."ChatStatus", a."StartsAt", a."DurationMinutes", a."ChatActivationMinutes", a."LastActivityAt",
                       COALESCE(r."Count", 0) AS "UnreadCount", r."Since" AS "UnreadSince", a."OrganisationId"
                FROM appointments a LEFT JOIN chat_users u ON u."Id" = a."PetOwnerId"
                LEFT JOIN unread_counts r ON r."UserId" = @reader AND r."ChannelId" = a."ChannelId"
                """);
            sql.Append(CultureInfo.InvariantCulture, $"\nWHERE a.\"ChannelId\" IS NOT NULL AND a.\"{column}\" = @member");
            sql.Append(byStatus ? " AND a.\"ChatStatus\" = @status" : "");
            sql.Append(byUnread ? " AND r.\"Count\" > 0" : "");
            sql.Append(byCursor ? " AND (a.\"LastActivityAt\", a.\"Id\") < (@after_at, @after_id)" : "");
            return sql.Append("\nORDER BY a.\"LastActivityAt\" DESC, a.\"Id\" DESC LIMIT @take").ToString();
        }

        var queries = new Dictionary<(ChatMembership, bool, bool, bool), string>();
        bool[] both = [false, true];
        foreach (var (byStatus, byCursor, byUnread) in from s in both from c in both from u in both select (s, c, u))
        {
            var asOwner = Chats("PetOwnerId", byStatus, byCursor, byUnread);
            var asVet = Chats("VetId", byStatus, byCursor, byUnread);
            queries[(ChatMembership.PetOwner, byStatus, byCursor, byUnread)] = asOwner;
            queries[(ChatMembership.Vet, byStatus, byCursor, byUnread)] = asVet;
            queries[(ChatMembership.Organisation, byStatus, byCursor, byUnread)] = Chats("OrganisationId", byStatus, byCursor, byUnread);

            // Each side exactly as above (its page read from its own index, the names joined row by row); the database
            // merges the two ordered results and stops after a page. A user is never both sides of one appointment. With
            // the join outside the two sides, PostgreSQL's generic plan guesses a few rows from the LIMITs and joins them
            // against a scan of every chat user.
            queries[(ChatMembership.Either, byStatus, byCursor, byUnread)] = $"SELECT * FROM (({asOwner})\nUNION ALL\n({asVet})) l\n{order}";
        }

        return queries;
    }
}
