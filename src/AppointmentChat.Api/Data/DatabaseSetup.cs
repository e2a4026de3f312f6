using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AppointmentChat.Api.Data;

internal enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Which database to use. <c>DATABASE_URL</c> names a PostgreSQL server (URL or keyword form);
/// unset, the service keeps a SQLite file in its data folder.
/// </summary>
internal sealed class DatabaseOptions
{
    public DatabaseProvider Provider { get; set; }

    public string ConnectionString { get; set; } = "";

    /// <summary>Why DATABASE_URL could not be used, reported at startup.</summary>
    public string? Error { get; set; }

    /// <summary>Setting <c>Database__MigrateAtStart</c>: apply missing migrations at start (else wait for <c>migrate</c> to).</summary>
    public bool MigrateAtStart { get; set; } = true;

    /// <summary>Setting <c>Database__UseSqlite</c>: outside Development, allow the local SQLite file (no <c>DATABASE_URL</c>).</summary>
    public bool UseSqlite { get; set; }

    /// <summary>Which database, for the start-up log line: never the password.</summary>
    public string Describe()
    {
        if (Provider == DatabaseProvider.Sqlite)
        {
            return $"SQLite file {new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(ConnectionString).DataSource}";
        }

        var postgres = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"PostgreSQL {postgres.Host}:{postgres.Port}/{postgres.Database} as {postgres.Username}";
    }
}

internal sealed class DatabaseOptionsSetup(IConfiguration configuration, DataFolder dataFolder) : IConfigureOptions<DatabaseOptions>
{
    public const string Section = "Database";
    public const string SqliteFileName = "appointment-chat.db";

    /// <summary>
    /// Connections per instance unless DATABASE_URL says otherwise: Npgsql's 100 would let three instances
    /// exhaust PostgreSQL's default max_connections (100), and this service needs few at once.
    /// </summary>
    public const int DefaultMaxPoolSize = 20;

    /// <summary>
    /// Statements Npgsql keeps prepared per connection unless DATABASE_URL says otherwise: the service runs the
    /// same few dozen statements all day, and a prepared one skips PostgreSQL's parse and plan.
    /// </summary>
    public const int DefaultMaxAutoPrepare = 64;

    /// <summary>
    /// Pooled connections are not reset when returned, unless DATABASE_URL says otherwise. The reset (<c>DISCARD ALL</c>,
    /// or five statements when statements are prepared) clears session state, and the service keeps none: no SET,
    /// LISTEN, advisory lock, cursor or temporary table (EF Core's migration lock is a LOCK TABLE inside its
    /// transaction). It would cost PostgreSQL those statements on every use, which the webhook path makes many times a
    /// second.
    /// </summary>
    public const bool DefaultNoResetOnClose = true;

    public void Configure(DatabaseOptions options)
    {
        configuration.GetSection(Section).Bind(options);
        var url = configuration["DATABASE_URL"];
        if (string.IsNullOrWhiteSpace(url))
        {
            options.Provider = DatabaseProvider.Sqlite;
            options.ConnectionString = $"Data Source={dataFolder.File(SqliteFileName)}";
            return;
        }

        options.Provider = DatabaseProvider.Postgres;
        try
        {
            options.ConnectionString = PostgresConnectionString(url.Trim());
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException or KeyNotFoundException)
        {
            options.Error = $"DATABASE_URL is not a valid PostgreSQL URL (postgres://user:pass@host:port/db) or connection string: {ex.Message}";
        }
    }

    /// <summary>Accepts <c>postgres://user:pass@host:port/db?sslmode=require</c> or Npgsql's keyword form.</summary>
    internal static string PostgresConnectionString(string url)
    {
        if (!url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            var keywords = new NpgsqlConnectionStringBuilder(url);
            if (!url.Contains("pool size", StringComparison.OrdinalIgnoreCase) && !url.Contains("maxpoolsize", StringComparison.OrdinalIgnoreCase))
            {
                keywords.MaxPoolSize = DefaultMaxPoolSize;
            }

            if (!url.Contains("auto prepare", StringComparison.OrdinalIgnoreCase) && !url.Contains("maxautoprepare", StringComparison.OrdinalIgnoreCase))
            {
                keywords.MaxAutoPrepare = DefaultMaxAutoPrepare;
            }

            if (!url.Contains("reset on close", StringComparison.OrdinalIgnoreCase) && !url.Contains("noresetonclose", StringComparison.OrdinalIgnoreCase))
            {
                keywords.NoResetOnClose = DefaultNoResetOnClose;
            }

            return keywords.ConnectionString;
        }

        var uri = new Uri(url);
        var builder = new NpgsqlConnectionStringBuilder
        {
            MaxPoolSize = DefaultMaxPoolSize,
            MaxAutoPrepare = DefaultMaxAutoPrepare,
            NoResetOnClose = DefaultNoResetOnClose,
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : null,
        };

        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0)
        {
            builder.Username = Uri.UnescapeDataString(userInfo[0]);
        }

        if (userInfo.Length == 2)
        {
            builder.Password = Uri.UnescapeDataString(userInfo[1]);
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(parts[0]);
            var value = parts.Length == 2 ? Uri.UnescapeDataString(parts[1]) : "";
            builder[key switch
            {
                "sslmode" => "SSL Mode",
                "connect_timeout" => "Timeout",
                "application_name" => "Application Name",
                _ => key,
            }] = value;
        }

        return builder.ConnectionString;
    }
}

internal static class DatabaseSetup
{
    public static IHostApplicationBuilder AddChatDatabase(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton<DataFolder>();
        services.AddSingleton<IConfigureOptions<DatabaseOptions>, DatabaseOptionsSetup>();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        services.AddOptions<DatabaseOptions>().ValidateOnStart();

        // Both are registered; the configured provider decides which one ChatDbContext resolves to.
        var spans = new DatabaseSpans();
        var busyTimeout = new SqliteBusyTimeout();
        var rowLocks = new RowLocks();
        services.AddDbContextPool<SqliteChatDbContext>((sp, options) =>
            options.UseSqlite(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString).AddInterceptors(spans, busyTimeout));
        // One PostgreSQL connection pool for EF Core; the hot reads have their own (PostgresChatReads).
        services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString));
        services.AddDbContextPool<PostgresChatDbContext>((sp, options) =>
            options.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>()).AddInterceptors(rowLocks)); // Npgsql traces its own commands
        services.AddScoped<ChatDbContext>(sp => sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Provider switch
        {
            DatabaseProvider.Postgres => sp.GetRequiredService<PostgresChatDbContext>(),
            _ => sp.GetRequiredService<SqliteChatDbContext>(),
        });
        services.AddSingleton(sp => new WriteTurns(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Provider == DatabaseProvider.Sqlite));
        services.AddSingleton<Leases>();
        return builder;
    }

    /// <summary>
    /// The hot reads (<see cref="IChatReads"/>): the chat feature's own queries (<typeparamref name="TPlain"/>), or on
    /// PostgreSQL the fast path that answers as they do (<see cref="PostgresChatReads"/>, its own multiplexed pool).
    /// </summary>
    public static IServiceCollection AddChatReads<TPlain>(this IServiceCollection services) where TPlain : class, IChatReads
    {
        services.AddKeyedSingleton(PostgresChatReads.DataSourceKey, (sp, _) =>
            PostgresChatReads.CreateDataSource(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString));
        return services.AddWithPostgresFastPath<IChatReads, TPlain, PostgresChatReads>(ServiceLifetime.Scoped);
    }

    /// <summary>
    /// A service with a plain path (<typeparamref name="TPlain"/>, every database) and a PostgreSQL fast path
    /// (<typeparamref name="TPostgres"/>, a singleton that answers as the plain path does): the fast path on PostgreSQL,
    /// the plain one elsewhere. Features name both and never ask which database they run on.
    /// </summary>
    public static IServiceCollection AddWithPostgresFastPath<TService, TPlain, TPostgres>(this IServiceCollection services, ServiceLifetime lifetime)
        where TService : class
        where TPlain : class, TService
        where TPostgres : class, TService
    {
        services.Add(new ServiceDescriptor(typeof(TPlain), typeof(TPlain), lifetime));
        services.AddSingleton<TPostgres>();
        services.Add(new ServiceDescriptor(typeof(TService), sp => sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Provider switch
        {
            DatabaseProvider.Postgres => sp.GetRequiredService<TPostgres>(),
            _ => sp.GetRequiredService<TPlain>(),
        }, lifetime));
        return services;
    }

    /// <summary>
    /// How long one statement of a migration may run. A schema change can rebuild a large table's indexes (making text
    /// compare byte-wise took 5.6 s with 1,000,000 chats), which the default command timeout of 30 s would cut short,
    /// failing the start; queries keep the URL's timeout.
    /// </summary>
    public static readonly TimeSpan MigrationCommandTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Applies pending migrations (EF Core serialises concurrent instances with its migration lock); how many were missing.</summary>
    public static async Task<int> MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        db.Database.SetCommandTimeout(MigrationCommandTimeout);
        if (db.Database.IsNpgsql())
        {
            await CreateMigrationHistoryAsync(db, cancellationToken);
        }

        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
        await db.Database.MigrateAsync(cancellationToken);
        if (db.Database.IsSqlite())
        {
            // Readers never block the writer, and a commit costs an append rather than a rewrite.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }

        return pending;
    }

    /// <summary>
    /// Creates EF Core's migration history table if it is missing. Npgsql's migrator does not look for it: it reads it
    /// and catches "no such table", which EF Core has already logged as an Error (npgsql/efcore.pg#3407), so every
    /// first start on an empty database logged a failure that was none.
    /// </summary>
    private static async Task CreateMigrationHistoryAsync(ChatDbContext db, CancellationToken cancellationToken)
    {
        try
        {
            await db.Database.ExecuteSqlRawAsync(db.GetService<IHistoryRepository>().GetCreateIfNotExistsScript(), cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
            // Another instance starting at the same moment created it first ("IF NOT EXISTS" is not atomic in PostgreSQL).
        }
    }
}

internal sealed class DatabaseOptionsValidator(IHostEnvironment environment) : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        if (options.Error is not null)
        {
            return ValidateOptionsResult.Fail(options.Error);
        }

        // A production deployment never silently keeps its data in a file on the instance's disk.
        return options.Provider == DatabaseProvider.Sqlite && !options.UseSqlite && !environment.IsDevelopment()
            ? ValidateOptionsResult.Fail("DATABASE_URL is not set: outside Development set DATABASE_URL (PostgreSQL), or Database__UseSqlite=true to keep the data in a local SQLite file.")
            : ValidateOptionsResult.Success;
    }
}

/// <summary>For <c>dotnet ef migrations add X --context SqliteChatDbContext</c>.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteChatDbContext>
{
    public SqliteChatDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteChatDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

/// <summary>For <c>dotnet ef migrations add X --context PostgresChatDbContext</c>.</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresChatDbContext>
{
    public PostgresChatDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresChatDbContext>().UseNpgsql("Host=localhost;Database=design_time").Options);
}
