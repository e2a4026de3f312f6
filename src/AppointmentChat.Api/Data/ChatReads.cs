using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using AppointmentChat.Api.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;
using SQLitePCL;

namespace AppointmentChat.Api.Data;

/// <summary>Whose chats a list is: the chats someone is a member of as pet owner, as vet or as either, or an organisation's.</summary>
internal enum ChatMembership
{
    PetOwner,
    Vet,
    Either,
    Organisation,
}

/// <summary>One chat of a list: its appointment's columns that the list shows, as stored (a status as its name).</summary>
/// <param name="PetOwnerName">The pet owner's display name as Stream last reported it (user.updated), else as the PMS gave it.</param>
internal sealed record ChatListRow(
    string AppointmentId,
    string ChannelId,
    string PetOwnerId,
    string VetId,
    string? PetOwnerName,
    string? LastMessageText,
    DateTimeOffset? LastMessageAt,
    string? ChatStatus,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    int ChatActivationMinutes,
    DateTimeOffset LastActivityAt);

/// <summary>The columns of an appointment's row that decide who may open its chat and when, as stored.</summary>
internal sealed record ChatFactsRow(
    string Id,
    string PetOwnerId,
    string VetId,
    string OrganisationId,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    int ChatActivationMinutes,
    string Status,
    string? ChannelId,
    string? ChatStatus,
    int Version);

/// <summary>Where a page of a list starts: after the chat with this activity time and appointment id.</summary>
internal readonly record struct ListPosition(DateTimeOffset LastActivityAt, string AppointmentId);

/// <summary>
/// The two reads the apps make on every screen, opening a chat and listing chats, as plain SQL that each
/// database connection prepares once and keeps. EF Core does everything else; on these paths its
/// per-query work (query pipeline, connection open and close, statement preparation) is a large share of
/// each request. The SQL is the same for both databases; only how an instant is
/// stored differs (SQLite: Unix milliseconds, as <see cref="SqliteChatDbContext"/> maps it).
/// </summary>
internal abstract class ChatReads
{
    /// <summary>The largest page of a list.</summary>
    public const int MaxPageSize = 100;

    private const string FactsSql = """
        SELECT "Id", "PetOwnerId", "VetId", "OrganisationId", "StartsAt", "DurationMinutes", "ChatActivationMinutes",
               "Status", "ChannelId", "ChatStatus", "Version"
        FROM appointments WHERE "Id" = @id LIMIT 1
        """;

    /// <summary>By membership column, status filter and cursor: every shape of the list query, built once.</summary>
    private readonly Dictionary<(ChatMembership, bool, bool), string> _listSql;

    /// <summary>The list's LIMIT, written into its SQL; null where it is a parameter, the page's size.</summary>
    private readonly int? _fixedLimit;

    /// <param name="fixedLimit">
    /// SQLite recompiles a statement on every execution whose LIMIT is a bound parameter (its planner reads
    /// the value, so each binding expires the plan), so there the LIMIT is the
    /// largest page and reading stops at the page's size; SQLite produces rows as they are read, so none past
    /// the page is computed.
    /// </param>
    /// <param name="eitherInOneStatement">
    /// Whether a member's chats on either side are one statement (PostgreSQL: a merge of the two index range reads,
    /// one round trip and one execution instead of two), or two whose rows are merged here (SQLite: given the two
    /// reads as one statement, it sorted every chat of the member in a temporary B-tree).
    /// </param>
    protected ChatReads(int? fixedLimit, bool eitherInOneStatement)
    {
        _fixedLimit = fixedLimit;
        _listSql = BuildListSql(fixedLimit is { } limit ? FormattableString.Invariant($"LIMIT {limit}") : "LIMIT @take", eitherInOneStatement);
    }

    /// <summary>The chat facts of an appointment, by id; null if there is no such appointment.</summary>
    public Task<ChatFactsRow?> FindChatFactsAsync(string appointmentId, CancellationToken cancellationToken) =>
        QueryAsync(FactsSql, [new("id", appointmentId)], async row => await row.ReadAsync()
            ? new ChatFactsRow(
                row.Text(0),
                row.Text(1),
                row.Text(2),
                row.Text(3),
                row.Instant(4),
                row.Int32(5),
                row.Int32(6),
                row.Text(7),
                row.TextOrNull(8),
                row.TextOrNull(9),
                row.Int32(10))
            : null, longAfterwards: false, cancellationToken);

    /// <summary>
    /// Up to <paramref name="take"/> chats of a member or organisation, newest activity first (ties by
    /// appointment id, descending), after <paramref name="after"/> if given: one index range read, however many
    /// chats are stored.
    /// </summary>
    /// <param name="status">Only chats with this status (its stored name), if given.</param>
    public async Task<List<ChatListRow>> ListAsync(ChatMembership membership, string memberId, string? status, ListPosition? after, int take, CancellationToken cancellationToken)
    {
        if (membership == ChatMembership.Either && !_listSql.ContainsKey((membership, status is not null, after is not null)))
        {
            // Two index-ordered reads, one per side, merged: each costs a page, however many chats exist. A user is never
            // both sides of one appointment, so no chat is in both.
            var asOwner = ListAsync(ChatMembership.PetOwner, memberId, status, after, take, cancellationToken);
            var asVet = ListAsync(ChatMembership.Vet, memberId, status, after, take, cancellationToken);
            return [.. (await asOwner).Concat(await asVet).OrderByDescending(a => a.LastActivityAt).ThenByDescending(a => a.AppointmentId, StringComparer.Ordinal).Take(take)];
        }

        return await ReadListAsync(membership, memberId, status, after, take, cancellationToken);
    }

    private Task<List<ChatListRow>> ReadListAsync(ChatMembership membership, string memberId, string? status, ListPosition? after, int take, CancellationToken cancellationToken)
    {
        List<SqlParameter> parameters = [new("member", memberId)];
        if (_fixedLimit is null)
        {
            parameters.Add(new("take", take));
        }

        if (status is { } wanted)
        {
            parameters.Add(new("status", wanted));
        }

        if (after is { } cursor)
        {
            parameters.Add(new("after_at", cursor.LastActivityAt));
            parameters.Add(new("after_id", cursor.AppointmentId));
        }

        return QueryAsync(_listSql[(membership, status is not null, after is not null)], parameters, async row =>
        {
            var rows = new List<ChatListRow>(take);
            while (rows.Count < take && await row.ReadAsync())
            {
                rows.Add(new ChatListRow(
                    row.Text(0),
                    row.Text(1),
                    row.Text(2),
                    row.Text(3),
                    row.TextOrNull(4),
                    row.TextOrNull(5),
                    row.InstantOrNull(6),
                    row.TextOrNull(7),
                    row.Instant(8),
                    row.Int32(9),
                    row.Int32(10),
                    row.Instant(11)));
            }

            return rows;
        }, longAfterwards: true, cancellationToken);
    }

    /// <summary>Runs <paramref name="sql"/> with its parameters and reads the result while the connection is held.</summary>
    /// <param name="longAfterwards">
    /// Whether what the request does with the result takes long (a page of chats to write as JSON): where results
    /// arrive on a connection's read loop (PostgreSQL's multiplexing), the rest of such a request must not run there.
    /// </param>
    protected abstract Task<T> QueryAsync<T>(string sql, IReadOnlyList<SqlParameter> parameters, Func<IResultRows, ValueTask<T>> read, bool longAfterwards, CancellationToken cancellationToken);

    /// <summary>
    /// The rows of a result, read forward one at a time, by column position. A column read as not null must
    /// not be null (the schema says so); an instant is read as the database stores it.
    /// </summary>
    protected interface IResultRows
    {
        /// <summary>Moves to the next row; false when there is none. SQLite's rows are read synchronously.</summary>
        ValueTask<bool> ReadAsync();

        string Text(int column);

        string? TextOrNull(int column);

        int Int32(int column);

        DateTimeOffset Instant(int column);

        DateTimeOffset? InstantOrNull(int column);
    }

    private static Dictionary<(ChatMembership, bool, bool), string> BuildListSql(string limit, bool eitherInOneStatement)
    {
        const string order = "ORDER BY \"LastActivityAt\" DESC, \"Id\" DESC ";

        // The chats of one membership column, newest first: the partial indexes ix_chats_by_* are (member, LastActivityAt,
        // Id) where ChannelId IS NOT NULL, and the row-value comparison lets the database seek straight to the cursor. The
        // pet owner's name is chosen in SQL: as Stream last reported it (user.updated), else as the PMS gave it.
        static string Chats(string column, bool byStatus, bool byCursor, string limit)
        {
            var sql = new StringBuilder("""
                SELECT a."Id", a."ChannelId", a."PetOwnerId", a."VetId", COALESCE(u."Name", a."PetOwnerName") AS "PetOwnerName", a."LastMessageText",
                       a."LastMessageAt", a."ChatStatus", a."StartsAt", a."DurationMinutes", a."ChatActivationMinutes", a."LastActivityAt"
                FROM appointments a LEFT JOIN chat_users u ON u."Id" = a."PetOwnerId"
                """);
            sql.Append(CultureInfo.InvariantCulture, $"\nWHERE a.\"ChannelId\" IS NOT NULL AND a.\"{column}\" = @member");
            sql.Append(byStatus ? " AND a.\"ChatStatus\" = @status" : "");
            sql.Append(byCursor ? " AND (a.\"LastActivityAt\", a.\"Id\") < (@after_at, @after_id)" : "");
            return sql.Append("\nORDER BY a.\"LastActivityAt\" DESC, a.\"Id\" DESC ").Append(limit).ToString();
        }

        var queries = new Dictionary<(ChatMembership, bool, bool), string>();
        foreach (var byStatus in new[] { false, true })
        {
            foreach (var byCursor in new[] { false, true })
            {
                var asOwner = Chats("PetOwnerId", byStatus, byCursor, limit);
                var asVet = Chats("VetId", byStatus, byCursor, limit);
                queries[(ChatMembership.PetOwner, byStatus, byCursor)] = asOwner;
                queries[(ChatMembership.Vet, byStatus, byCursor)] = asVet;
                queries[(ChatMembership.Organisation, byStatus, byCursor)] = Chats("OrganisationId", byStatus, byCursor, limit);
                if (eitherInOneStatement)
                {
                    // Each side exactly as above (its page read from its own index, the names joined row by row); the database
                    // merges the two ordered results and stops after a page. With the join outside the two sides, PostgreSQL's
                    // generic plan guesses a few rows from the LIMITs and joins them against a scan of every chat user.
                    queries[(ChatMembership.Either, byStatus, byCursor)] = $"SELECT * FROM (({asOwner})\nUNION ALL\n({asVet})) l\n{order}{limit}";
                }
            }
        }

        return queries;
    }
}

/// <summary>A named parameter; an instant is converted to how the database stores it.</summary>
internal readonly record struct SqlParameter(string Name, object Value);

/// <summary>
/// SQLite: a small pool of read-only connections, each keeping its prepared statements. SQLite is in
/// process, so preparing (parsing and planning) is a large part of a read; here it happens once per
/// connection. In WAL mode these readers never wait for the writer and always see the last commit.
/// The statements are SQLite's own (SQLitePCLRaw, under Microsoft.Data.Sqlite): a list reads 31 rows of 12
/// columns, and Microsoft.Data.Sqlite's checks around every value (its type, then the value) cost more than
/// reading it.
/// </summary>
internal sealed class SqliteChatReads(IOptions<DatabaseOptions> options) : ChatReads(fixedLimit: MaxPageSize + 1, eitherInOneStatement: false), IDisposable
{
    /// <summary>Connections kept between reads; a read runs synchronously, so few are ever in use at once.</summary>
    private static readonly int MaxIdle = Math.Max(4, Environment.ProcessorCount * 2);

    /// <summary>Most recently used on top, so the connections in use keep warm caches; lock-free (a bag's steals took locks).</summary>
    private readonly ConcurrentStack<ReadConnection> _idle = new();
    private int _idleCount;

    /// <summary>
    /// The database's file, as Microsoft.Data.Sqlite resolves the connection string (its path rules): found on the first
    /// read that succeeds in finding it (a failure is not kept), not again for every connection the pool opens.
    /// </summary>
    private readonly Lazy<string> _file = new(() => DatabaseFile(options.Value.ConnectionString), LazyThreadSafetyMode.PublicationOnly);

    private bool _disposed;

    protected override async Task<T> QueryAsync<T>(string sql, IReadOnlyList<SqlParameter> parameters, Func<IResultRows, ValueTask<T>> read, bool longAfterwards, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ReadConnection connection;
        if (_idle.TryPop(out var idle))
        {
            Interlocked.Decrement(ref _idleCount);
            connection = idle;
        }
        else
        {
            connection = new ReadConnection(_file.Value);
        }

        try
        {
            var statement = connection.Prepared(sql);
            T result;
            try
            {
                statement.Bind(parameters);
                result = await read(statement);
            }
            finally
            {
                statement.Reset();
            }

            Return(connection);
            return result;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryPop(out var connection))
        {
            connection.Dispose();
        }
    }

    private void Return(ReadConnection connection)
    {
        if (_disposed || Interlocked.Increment(ref _idleCount) > MaxIdle)
        {
            Interlocked.Decrement(ref _idleCount);
            connection.Dispose();
            return;
        }

        _idle.Push(connection);
    }

    /// <summary>Opens the connection string read-only once to learn which file it names; checks the native library the reads call.</summary>
    private static string DatabaseFile(string connectionString)
    {
        var readOnly = new SqliteConnectionStringBuilder(connectionString) { Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        using var resolved = new SqliteConnection(readOnly);
        resolved.Open();
        Native.EnsureSameLibrary();
        var file = raw.sqlite3_db_filename(resolved.Handle!, "main").utf8_to_string();
        return string.IsNullOrEmpty(file)
            ? throw new InvalidOperationException("The SQLite reads need a database file; the connection string names none.")
            : file;
    }

    private sealed class ReadConnection : IDisposable
    {
        /// <summary>
        /// Pages are read through a memory map instead of a system call each: a list touches ~70 pages, and a
        /// read-only connection never writes through it. Measured: 3–7 % more lists a second.
        /// </summary>
        private const string MemoryMapPragma = "PRAGMA mmap_size = 1073741824;";

        private readonly sqlite3 _database;
        private readonly Dictionary<string, Statement> _statements = new(StringComparer.Ordinal);

        /// <summary>
        /// Opens <paramref name="file"/> read-only and without SQLite's per-connection mutex: a read connection is only ever
        /// used by the one read that took it from the pool, and in SQLite's default serialised mode every call — ~700 a
        /// list, one or two per value — would lock and unlock it.
        /// </summary>
        public ReadConnection(string file)
        {
            var opened = raw.sqlite3_open_v2(file, out _database, raw.SQLITE_OPEN_READONLY | raw.SQLITE_OPEN_NOMUTEX, null);
            try
            {
                Check(opened, _database);
                Check(raw.sqlite3_exec(_database, SqliteBusyTimeout.Pragma + MemoryMapPragma), _database);
            }
            catch
            {
                _database.Dispose();
                throw;
            }
        }

        /// <summary>The statement for <paramref name="sql"/>, prepared on its first use on this connection.</summary>
        public Statement Prepared(string sql)
        {
            if (!_statements.TryGetValue(sql, out var statement))
            {
                statement = new Statement(_database, sql);
                _statements[sql] = statement;
            }

            return statement;
        }

        public void Dispose()
        {
            foreach (var statement in _statements.Values)
            {
                statement.Dispose();
            }

            _database.Dispose();
        }
    }

    /// <summary>A prepared statement and, while it runs, the row it is on.</summary>
    private sealed class Statement : IResultRows, IDisposable
    {
        private readonly sqlite3 _database;
        private readonly sqlite3_stmt _statement;

        /// <summary>The native statement, for the calls made per row and per value; valid until <see cref="Dispose"/>.</summary>
        private readonly nint _handle;

        public Statement(sqlite3 database, string sql)
        {
            _database = database;
            Check(raw.sqlite3_prepare_v2(database, sql, out _statement), database);
            _handle = _statement.DangerousGetHandle();
        }

        public void Bind(IReadOnlyList<SqlParameter> parameters)
        {
            foreach (var parameter in parameters)
            {
                var index = raw.sqlite3_bind_parameter_index(_statement, "@" + parameter.Name);
                if (index == 0)
                {
                    throw new InvalidOperationException($"The statement has no parameter @{parameter.Name}.");
                }

                Check(parameter.Value switch
                {
                    string text => raw.sqlite3_bind_text(_statement, index, text),
                    int number => raw.sqlite3_bind_int64(_statement, index, number),
                    long number => raw.sqlite3_bind_int64(_statement, index, number),
                    DateTimeOffset instant => raw.sqlite3_bind_int64(_statement, index, instant.ToUnixTimeMilliseconds()),
                    _ => throw new ArgumentException($"@{parameter.Name}: {parameter.Value.GetType()} is not a type these reads bind.", nameof(parameters)),
                }, _database);
            }
        }

        public ValueTask<bool> ReadAsync() => new(Read());

        private bool Read()
        {
            var result = Native.sqlite3_step(_handle);
            if (result == raw.SQLITE_ROW)
            {
                return true;
            }

            Check(result == raw.SQLITE_DONE ? raw.SQLITE_OK : result, _database);
            return false;
        }

        public string Text(int column) => TextOrNull(column) ?? throw NullIn(column);

        /// <summary>SQLite gives a NULL value as a null pointer, any text (even empty) as UTF-8 of the given length.</summary>
        public string? TextOrNull(int column)
        {
            var text = Native.sqlite3_column_text(_handle, column);
            return text == 0 ? null : Marshal.PtrToStringUTF8(text, Native.sqlite3_column_bytes(_handle, column));
        }

        public int Int32(int column) => checked((int)(Int64OrNull(column) ?? throw NullIn(column)));

        /// <summary>Instants are stored as Unix milliseconds (<see cref="SqliteChatDbContext"/>).</summary>
        public DateTimeOffset Instant(int column) => InstantOrNull(column) ?? throw NullIn(column);

        public DateTimeOffset? InstantOrNull(int column) =>
            Int64OrNull(column) is { } milliseconds ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds) : null;

        /// <summary>Ready for the next run: the cursor rewound (ending the read transaction) and the values unbound.</summary>
        public void Reset()
        {
            raw.sqlite3_reset(_statement);
            raw.sqlite3_clear_bindings(_statement);
        }

        public void Dispose() => _statement.Dispose();

        /// <summary>A NULL reads as 0, so only a 0 needs its type asked.</summary>
        private long? Int64OrNull(int column)
        {
            var value = Native.sqlite3_column_int64(_handle, column);
            return value == 0 && Native.sqlite3_column_type(_handle, column) == raw.SQLITE_NULL ? null : value;
        }

        private static InvalidOperationException NullIn(int column) => new($"Column {column} is null where the schema does not allow it.");
    }

    private static void Check(int result, sqlite3 database)
    {
        if (result != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(result, database);
        }
    }

    /// <summary>
    /// SQLite's calls made per row and per value, on the native statement. Through SQLitePCLRaw each call also took and
    /// released a reference on the statement's SafeHandle — two interlocked operations around a call that reads a few
    /// bytes. The statement's SafeHandle still owns it and outlives every call.
    /// </summary>
    private static class Native
    {
        /// <summary>The library SQLitePCLRaw's e_sqlite3 provider loads, resolved the same way (the application's native assets).</summary>
        private const string Library = "e_sqlite3";

        /// <summary>Throws unless SQLitePCLRaw uses the library these calls bind to (a different SQLite build would get foreign pointers).</summary>
        public static void EnsureSameLibrary()
        {
            if (raw.GetNativeLibraryName() != Library)
            {
                throw new InvalidOperationException($"The SQLite reads call {Library}, but SQLitePCLRaw uses {raw.GetNativeLibraryName()}.");
            }
        }

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern int sqlite3_step(nint statement);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern int sqlite3_column_type(nint statement, int column);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern long sqlite3_column_int64(nint statement, int column);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern nint sqlite3_column_text(nint statement, int column);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern int sqlite3_column_bytes(nint statement, int column);
    }
}

/// <summary>
/// PostgreSQL: the reads have a small pool of their own, multiplexed: Npgsql writes the commands of concurrent
/// requests together onto a few connections and reads their results back in order, so a burst of reads costs a
/// few system calls and backend wake-ups instead of one round trip each. Like every connection of the service's, they are not reset when returned
/// (<see cref="DatabaseOptionsSetup.DefaultNoResetOnClose"/>). Npgsql prepares each statement automatically after a
/// few uses (Max Auto Prepare). EF Core keeps the unmultiplexed data source for every write and transaction.
/// </summary>
internal sealed class PostgresChatReads(NpgsqlDataSource dataSource) : ChatReads(fixedLimit: null, eitherInOneStatement: true), IDisposable, IAsyncDisposable
{
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

    /// <summary>The reads' connection string: the service's, multiplexed, at most <see cref="MaxConnections"/>, with generic plans and no parallel workers.</summary>
    public static string ConnectionString(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Multiplexing = true };
        builder.MaxPoolSize = Math.Min(builder.MaxPoolSize, MaxConnections);
        if (builder.MinPoolSize > builder.MaxPoolSize)
        {
            builder.MinPoolSize = builder.MaxPoolSize;
        }

        builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? SessionSettings : builder.Options + " " + SessionSettings;
        return builder.ConnectionString;
    }

    public void Dispose() => dataSource.Dispose();

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    protected override async Task<T> QueryAsync<T>(string sql, IReadOnlyList<SqlParameter> parameters, Func<IResultRows, ValueTask<T>> read, bool longAfterwards, CancellationToken cancellationToken)
    {
        T result;
        await using (var command = dataSource.CreateCommand(sql))
        {
            foreach (var parameter in parameters)
            {
                command.Parameters.AddWithValue(parameter.Name, parameter.Value);
            }

            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            result = await read(new Rows(reader, cancellationToken));
        }

        // A multiplexed command's result arrives on its connection's read loop, and this method continued there. A list
        // leaves it, so that the rest of its request (a page's JSON, the socket) does not hold up the reads behind it.
        // An opened chat's response is short, and the hop to the thread pool costs more than it saves.
        if (longAfterwards)
        {
            await Task.Yield();
        }

        return result;
    }

    private sealed class Rows(NpgsqlDataReader reader, CancellationToken cancellationToken) : IResultRows
    {
        public ValueTask<bool> ReadAsync() => new(reader.ReadAsync(cancellationToken));

        public string Text(int column) => reader.GetString(column);

        public string? TextOrNull(int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

        public int Int32(int column) => reader.GetInt32(column);

        public DateTimeOffset Instant(int column) => reader.GetFieldValue<DateTimeOffset>(column);

        public DateTimeOffset? InstantOrNull(int column) => reader.IsDBNull(column) ? null : Instant(column);
    }
}
