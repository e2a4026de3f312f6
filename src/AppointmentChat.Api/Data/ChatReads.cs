using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Text;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AppointmentChat.Api.Data;

/// <summary>Whose chats a list is: the chats someone is a member of as pet owner or vet, or an organisation's.</summary>
internal enum ChatMembership
{
    PetOwner,
    Vet,
    Organisation,
}

/// <summary>One chat of a list: its appointment's columns that the list shows.</summary>
/// <param name="PetOwnerName">The pet owner's display name as Stream last reported it (user.updated), else as the PMS gave it.</param>
internal sealed record ChatListRow(
    string AppointmentId,
    string ChannelId,
    string PetOwnerId,
    string VetId,
    string? PetOwnerName,
    string? LastMessageText,
    DateTimeOffset? LastMessageAt,
    ChatStatus? ChatStatus,
    DateTimeOffset StartsAt,
    int DurationMinutes,
    int ChatActivationMinutes,
    DateTimeOffset LastActivityAt) : IChatSchedule;

/// <summary>
/// The two reads the apps make on every screen, opening a chat and listing chats, as plain SQL that each
/// database connection prepares once and keeps. EF Core does everything else; on these paths its
/// per-query work (query pipeline, connection open and close, statement preparation) cost more than half
/// of each request (bench/findings.md). The SQL is the same for both databases; only how an instant is
/// stored differs (SQLite: Unix milliseconds, as <see cref="SqliteChatDbContext"/> maps it).
/// </summary>
internal abstract class ChatReads
{
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
    /// the value, so each binding expires the plan: ~25 µs a query, measured), so there the LIMIT is the
    /// largest page and reading stops at the page's size; SQLite produces rows as they are read, so none past
    /// the page is computed.
    /// </param>
    protected ChatReads(int? fixedLimit)
    {
        _fixedLimit = fixedLimit;
        _listSql = BuildListSql(fixedLimit is { } limit ? FormattableString.Invariant($"LIMIT {limit}") : "LIMIT @take");
    }

    /// <summary>The chat facts of an appointment, by id; null if there is no such appointment.</summary>
    public Task<ChatFacts?> FindChatFactsAsync(string appointmentId, CancellationToken cancellationToken) =>
        QueryAsync(FactsSql, [new("id", appointmentId)], reader => reader.Read()
            ? new ChatFacts(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                ReadInstant(reader, 4),
                reader.GetInt32(5),
                reader.GetInt32(6),
                EnumNames<AppointmentStatus>.FromName(reader.GetString(7)),
                reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.IsDBNull(9) ? null : EnumNames<ChatStatus>.FromName(reader.GetString(9)),
                reader.GetInt32(10))
            : null, cancellationToken);

    /// <summary>
    /// Up to <paramref name="take"/> chats of a member or organisation, newest activity first (ties by
    /// appointment id, descending), after <paramref name="after"/> if given: one index range read, however many
    /// chats are stored.
    /// </summary>
    public Task<List<ChatListRow>> ListAsync(ChatMembership membership, string memberId, ChatStatus? status, ChannelCursor? after, int take, CancellationToken cancellationToken)
    {
        List<SqlParameter> parameters = [new("member", memberId)];
        if (_fixedLimit is null)
        {
            parameters.Add(new("take", take));
        }

        if (status is { } wanted)
        {
            parameters.Add(new("status", EnumNames<ChatStatus>.ToName(wanted)));
        }

        if (after is { } cursor)
        {
            parameters.Add(new("after_at", cursor.LastActivityAt));
            parameters.Add(new("after_id", cursor.AppointmentId));
        }

        return QueryAsync(_listSql[(membership, status is not null, after is not null)], parameters, reader =>
        {
            var rows = new List<ChatListRow>(take);
            while (rows.Count < take && reader.Read())
            {
                rows.Add(new ChatListRow(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.IsDBNull(6) ? null : ReadInstant(reader, 6),
                    reader.IsDBNull(7) ? null : EnumNames<ChatStatus>.FromName(reader.GetString(7)),
                    ReadInstant(reader, 8),
                    reader.GetInt32(9),
                    reader.GetInt32(10),
                    ReadInstant(reader, 11)));
            }

            return rows;
        }, cancellationToken);
    }

    /// <summary>Runs <paramref name="sql"/> with its parameters and reads the result while the connection is held.</summary>
    protected abstract Task<T> QueryAsync<T>(string sql, IReadOnlyList<SqlParameter> parameters, Func<DbDataReader, T> read, CancellationToken cancellationToken);

    protected abstract DateTimeOffset ReadInstant(DbDataReader reader, int ordinal);

    private static Dictionary<(ChatMembership, bool, bool), string> BuildListSql(string limit)
    {
        var queries = new Dictionary<(ChatMembership, bool, bool), string>();
        foreach (var membership in Enum.GetValues<ChatMembership>())
        {
            var column = membership switch
            {
                ChatMembership.PetOwner => "PetOwnerId",
                ChatMembership.Vet => "VetId",
                _ => "OrganisationId",
            };

            foreach (var byStatus in new[] { false, true })
            {
                foreach (var byCursor in new[] { false, true })
                {
                    // The partial indexes ix_chats_by_* are (member, LastActivityAt, Id) where ChannelId IS NOT NULL:
                    // the row-value comparison lets the database seek straight to the cursor.
                    var sql = new StringBuilder("""
                        SELECT a."Id", a."ChannelId", a."PetOwnerId", a."VetId", COALESCE(u."Name", a."PetOwnerName"), a."LastMessageText",
                               a."LastMessageAt", a."ChatStatus", a."StartsAt", a."DurationMinutes", a."ChatActivationMinutes", a."LastActivityAt"
                        FROM appointments a LEFT JOIN chat_users u ON u."Id" = a."PetOwnerId"
                        """);
                    sql.Append(CultureInfo.InvariantCulture, $"\nWHERE a.\"ChannelId\" IS NOT NULL AND a.\"{column}\" = @member");
                    sql.Append(byStatus ? " AND a.\"ChatStatus\" = @status" : "");
                    sql.Append(byCursor ? " AND (a.\"LastActivityAt\", a.\"Id\") < (@after_at, @after_id)" : "");
                    sql.Append("\nORDER BY a.\"LastActivityAt\" DESC, a.\"Id\" DESC ").Append(limit);
                    queries[(membership, byStatus, byCursor)] = sql.ToString();
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
/// </summary>
internal sealed class SqliteChatReads(IOptions<DatabaseOptions> options) : ChatReads(fixedLimit: ChannelsApi.MaxPageSize + 1), IDisposable
{
    /// <summary>Connections kept between reads; a read runs synchronously, so few are ever in use at once.</summary>
    private static readonly int MaxIdle = Math.Max(4, Environment.ProcessorCount * 2);

    /// <summary>Most recently used on top, so the connections in use keep warm caches; lock-free (a bag's steals took locks).</summary>
    private readonly ConcurrentStack<ReadConnection> _idle = new();
    private int _idleCount;
    private readonly string _connectionString = new SqliteConnectionStringBuilder(options.Value.ConnectionString) { Mode = SqliteOpenMode.ReadOnly }.ToString();
    private bool _disposed;

    protected override Task<T> QueryAsync<T>(string sql, IReadOnlyList<SqlParameter> parameters, Func<DbDataReader, T> read, CancellationToken cancellationToken)
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
            connection = new ReadConnection(_connectionString);
        }

        try
        {
            var command = connection.Prepared(sql);
            foreach (var parameter in parameters)
            {
                command.Parameters["@" + parameter.Name].Value = parameter.Value is DateTimeOffset instant ? instant.ToUnixTimeMilliseconds() : parameter.Value;
            }

            T result;
            using (var reader = command.ExecuteReader())
            {
                result = read(reader);
            }

            Return(connection);
            return Task.FromResult(result);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    protected override DateTimeOffset ReadInstant(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

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

    private sealed class ReadConnection : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public ReadConnection(string connectionString)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            SqliteBusyTimeout.Apply(_connection);
        }

        /// <summary>The command for <paramref name="sql"/>, prepared on its first use on this connection; parameters declared, values to set.</summary>
        public SqliteCommand Prepared(string sql)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = _connection.CreateCommand();
                command.CommandText = sql;
                foreach (var name in ParameterNames(sql))
                {
                    command.Parameters.Add(new SqliteParameter { ParameterName = name });
                }

                command.Prepare();
                _commands[sql] = command;
            }

            return command;
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            _connection.Dispose();
        }

        private static IEnumerable<string> ParameterNames(string sql)
        {
            for (var at = sql.IndexOf('@', StringComparison.Ordinal); at >= 0; at = sql.IndexOf('@', at + 1))
            {
                var end = at + 1;
                while (end < sql.Length && (char.IsAsciiLetterOrDigit(sql[end]) || sql[end] == '_'))
                {
                    end++;
                }

                yield return sql[at..end];
            }
        }
    }
}

/// <summary>
/// PostgreSQL: commands on the data source EF Core uses too (one connection pool). Npgsql prepares a
/// statement automatically once it has been used a few times on a connection (Max Auto Prepare).
/// </summary>
internal sealed class PostgresChatReads(NpgsqlDataSource dataSource) : ChatReads(fixedLimit: null)
{
    protected override async Task<T> QueryAsync<T>(string sql, IReadOnlyList<SqlParameter> parameters, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return read(reader);
    }

    protected override DateTimeOffset ReadInstant(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);
}
