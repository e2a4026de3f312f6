using Npgsql;

namespace AppointmentChat.Api.Tests.Infrastructure;

public enum DatabaseKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A private, empty database for one app under test: a SQLite file in a temporary folder, or a
/// fresh database on the PostgreSQL server named by TEST_POSTGRES_URL (default: local postgres/postgres).
/// Without a PostgreSQL server the PostgreSQL tests skip with a message, except under CI=true, where they fail.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string ServerUrlVariable = "TEST_POSTGRES_URL";
    private const string DefaultServerUrl = "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=postgres";

    private static readonly Lazy<Task<string?>> ServerProblem = new(ProbeServerAsync);

    private TestDatabase(DatabaseKind kind, string folder, string? databaseUrl, string? databaseName)
    {
        Kind = kind;
        Folder = folder;
        DatabaseUrl = databaseUrl;
        DatabaseName = databaseName;
    }

    public DatabaseKind Kind { get; }

    /// <summary>The app's data folder (SQLite file, generated keys).</summary>
    public string Folder { get; }

    /// <summary>The DATABASE_URL for the app; null for SQLite.</summary>
    public string? DatabaseUrl { get; }

    private string? DatabaseName { get; }

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static async Task<TestDatabase> CreateAsync(DatabaseKind kind)
    {
        var folder = Directory.CreateTempSubdirectory("appointment-chat-tests-").FullName;
        if (kind == DatabaseKind.Sqlite)
        {
            return new TestDatabase(kind, folder, null, null);
        }

        await RequirePostgresAsync();
        var name = "chat_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(ServerConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name };
        return new TestDatabase(kind, folder, builder.ConnectionString, name);
    }

    /// <summary>
    /// Skips the calling test (or fails it under CI=true) when PostgreSQL is not reachable: the one way a test requires
    /// PostgreSQL. <see cref="CreateAsync"/> calls it, so a test needs its own call only before starting anything else.
    /// </summary>
    public static async Task RequirePostgresAsync()
    {
        var problem = await ServerProblem.Value;
        if (problem is null)
        {
            return;
        }

        var message = $"PostgreSQL is not reachable ({problem}); set {ServerUrlVariable} or run .ci/run, which installs and starts it.";
        if (InCi)
        {
            throw new InvalidOperationException("CI=true requires PostgreSQL: " + message);
        }

        Assert.Skip(message);
    }

    public static string ServerConnectionString
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(ServerUrlVariable);
            return string.IsNullOrWhiteSpace(configured)
                ? DefaultServerUrl
                : AppointmentChat.Api.Data.DatabaseOptionsSetup.PostgresConnectionString(configured);
        }
    }

    /// <summary>
    /// Whether the server answers. A refused connection is an answer at once; a timeout is tried again, because at the
    /// start of a run a loaded machine (dozens of test classes starting together) can be slow to connect.
    /// </summary>
    private static async Task<string?> ProbeServerAsync()
    {
        string? problem = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Timeout = 10 };
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync();
                return null;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException)
            {
                problem = ex.Message;
                if (ex is NpgsqlException { InnerException: System.Net.Sockets.SocketException } or System.Net.Sockets.SocketException)
                {
                    return problem; // nothing listening: no point waiting
                }
            }
        }

        return problem;
    }

    public async ValueTask DisposeAsync()
    {
        if (DatabaseName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(ServerConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temp folder is cleaned up by the OS eventually.
        }
    }
}
