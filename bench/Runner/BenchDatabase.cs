using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace AppointmentChat.Bench;

/// <summary>The database a benchmark runs on: a fresh SQLite file or a fresh PostgreSQL database, seeded in bulk.</summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private const string AdminDefault = "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=postgres";
    private readonly string? _postgresName;

    private BenchDatabase(string kind, string dataFolder, string? databaseUrl, string? postgresName)
    {
        Kind = kind;
        DataFolder = dataFolder;
        DatabaseUrl = databaseUrl;
        _postgresName = postgresName;
    }

    public string Kind { get; }

    /// <summary>The service's data folder (the SQLite file lives here).</summary>
    public string DataFolder { get; }

    /// <summary>DATABASE_URL for the service; null for SQLite.</summary>
    public string? DatabaseUrl { get; }

    private static string Admin => Environment.GetEnvironmentVariable("BENCH_POSTGRES_URL") is { Length: > 0 } url ? url : AdminDefault;

    public static async Task<BenchDatabase> CreateAsync(string kind, string workFolder)
    {
        var folder = Directory.CreateDirectory(Path.Combine(workFolder, "data-" + kind + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        if (kind == "sqlite")
        {
            return new BenchDatabase(kind, folder, null, null);
        }

        var name = "bench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(Admin))
        {
            await connection.OpenAsync();
            await new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection).ExecuteNonQueryAsync();
        }

        return new BenchDatabase(kind, folder, new NpgsqlConnectionStringBuilder(Admin) { Database = name, MaxPoolSize = 40 }.ConnectionString, name);
    }

    /// <summary>
    /// Writes <paramref name="count"/> appointment chats straight into the table (the service created the schema):
    /// chat <c>i</c> belongs to <paramref name="vetOf"/>(i), an owner of its own, organisation <c>clinic-{i % 50}</c>.
    /// </summary>
    public async Task SeedChatsAsync(int first, int count, Func<int, string> vetOf, DateTimeOffset newest)
    {
        if (Kind == "sqlite")
        {
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(DataFolder, "appointment-chat.db")}");
            await connection.OpenAsync();
            await using var transaction = connection.BeginTransaction();
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO appointments ("Id","PetOwnerId","PetOwnerName","PetName","VetId","VetName","OrganisationId","StartsAt","DurationMinutes","Status",
                  "ChatActivationMinutes","ChannelId","ChatStatus","CreatedAt","UpdatedAt","ChatCreatedAt","ChatFrozen","ChannelPetOwnerId","ChannelVetId",
                  "LastMessageText","LastMessageAt","LastActivityAt","ChatSyncAttempts","Version")
                VALUES ($id,$owner,'Owner','Rex',$vet,'Dr. Vet',$org,$starts,30,'upcoming',5,$channel,'active',$at,$at,$at,0,$owner,$vet,'Hello',$activity,$activity,0,1)
                """;
            var p = new Dictionary<string, SqliteParameter>();
            foreach (var name in new[] { "$id", "$owner", "$vet", "$org", "$starts", "$channel", "$at", "$activity" })
            {
                p[name] = command.Parameters.Add(name, SqliteType.Text);
            }

            command.Prepare();
            for (var i = first; i < first + count; i++)
            {
                var activity = newest.AddSeconds(-i);
                p["$id"].Value = Id(i);
                p["$owner"].Value = $"owner-{i}";
                p["$vet"].Value = vetOf(i);
                p["$org"].Value = $"clinic-{i % 50}";
                p["$starts"].Value = newest.AddDays(30).ToUnixTimeMilliseconds();
                p["$channel"].Value = "appointment-" + Id(i);
                p["$at"].Value = activity.ToUnixTimeMilliseconds();
                p["$activity"].Value = activity.ToUnixTimeMilliseconds();
                await command.ExecuteNonQueryAsync();
            }

            command.Parameters.Clear();
            command.CommandText = RecordPetOwnersSql("CAST(strftime('%s', 'now') AS INTEGER) * 1000");
            command.Parameters.AddWithValue("$first", Id(first));
            command.Parameters.AddWithValue("$last", Id(first + count - 1));
            await command.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            await new SqliteCommand("ANALYZE", connection).ExecuteNonQueryAsync();

            // A million rows written at once leave a WAL of hundreds of MB, which every read then searches and some later
            // commit has to copy back: setup the measured runs should not pay for (a service's data arrives a little at
            // a time, checkpointed as it goes). Measured without it: the list 9.9k -> 6.3k req/s with 1,000,000 stored.
            await new SqliteCommand("PRAGMA wal_checkpoint(TRUNCATE)", connection).ExecuteNonQueryAsync();
            return;
        }

        await using (var connection = new NpgsqlConnection(DatabaseUrl))
        {
            await connection.OpenAsync();
            await using (var writer = await connection.BeginBinaryImportAsync("""
                COPY appointments ("Id","PetOwnerId","PetOwnerName","PetName","VetId","VetName","OrganisationId","StartsAt","DurationMinutes","Status",
                  "ChatActivationMinutes","ChannelId","ChatStatus","CreatedAt","UpdatedAt","ChatCreatedAt","ChatFrozen","ChannelPetOwnerId","ChannelVetId",
                  "LastMessageText","LastMessageAt","LastActivityAt","ChatSyncAttempts","Version") FROM STDIN (FORMAT BINARY)
                """))
            {
                for (var i = first; i < first + count; i++)
                {
                    var activity = newest.AddSeconds(-i).UtcDateTime;
                    await writer.StartRowAsync();
                    await writer.WriteAsync(Id(i), NpgsqlDbType.Varchar);
                    await writer.WriteAsync($"owner-{i}", NpgsqlDbType.Varchar);
                    await writer.WriteAsync("Owner", NpgsqlDbType.Varchar);
                    await writer.WriteAsync("Rex", NpgsqlDbType.Varchar);
                    await writer.WriteAsync(vetOf(i), NpgsqlDbType.Varchar);
                    await writer.WriteAsync("Dr. Vet", NpgsqlDbType.Varchar);
                    await writer.WriteAsync($"clinic-{i % 50}", NpgsqlDbType.Varchar);
                    await writer.WriteAsync(newest.AddDays(30).UtcDateTime, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(30, NpgsqlDbType.Integer);
                    await writer.WriteAsync("upcoming", NpgsqlDbType.Varchar);
                    await writer.WriteAsync(5, NpgsqlDbType.Integer);
                    await writer.WriteAsync("appointment-" + Id(i), NpgsqlDbType.Varchar);
                    await writer.WriteAsync("active", NpgsqlDbType.Varchar);
                    await writer.WriteAsync(activity, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(activity, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(activity, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(false, NpgsqlDbType.Boolean);
                    await writer.WriteAsync($"owner-{i}", NpgsqlDbType.Varchar);
                    await writer.WriteAsync(vetOf(i), NpgsqlDbType.Varchar);
                    await writer.WriteAsync("Hello", NpgsqlDbType.Varchar);
                    await writer.WriteAsync(activity, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(activity, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(0, NpgsqlDbType.Integer);
                    await writer.WriteAsync(1, NpgsqlDbType.Integer);
                }

                await writer.CompleteAsync();
            }

            await using (var users = new NpgsqlCommand(RecordPetOwnersSql("now()").Replace('$', '@'), connection))
            {
                users.Parameters.AddWithValue("first", Id(first));
                users.Parameters.AddWithValue("last", Id(first + count - 1));
                users.CommandTimeout = 600;
                await users.ExecuteNonQueryAsync();
            }

            // As SQLite's checkpoint above: a million rows copied at once are setup the measured runs should not pay for.
            // Left as they are, PostgreSQL vacuums the new rows (its insert threshold) and checkpoints the WAL they made
            // while the next scenarios run: measured, the webhooks' third round at 3,000/s (p99 228 ms against 28 and 35)
            // ran beside a 13 s vacuum of the whole table and a checkpoint of 538 MB of WAL. Each is its own command:
            // VACUUM cannot run in the implicit transaction of a batch.
            foreach (var setup in new[] { "VACUUM (ANALYZE) appointments", "VACUUM (ANALYZE) chat_users", "CHECKPOINT" })
            {
                await new NpgsqlCommand(setup, connection) { CommandTimeout = 600 }.ExecuteNonQueryAsync();
            }
        }
    }

    /// <summary>
    /// The seeded chats' pet owners as the service records them when it creates a chat, with the name Stream reported:
    /// the list joins every row to its pet owner's record, and with none stored that join would find nothing.
    /// </summary>
    private static string RecordPetOwnersSql(string now) => $"""
        INSERT INTO chat_users ("Id", "Name", "PushedName", "SyncedAt", "UpdatedAt")
        SELECT "PetOwnerId", 'Owner (from Stream)', 'Owner', {now}, {now} FROM appointments WHERE "Id" BETWEEN $first AND $last
        ON CONFLICT ("Id") DO NOTHING
        """;

    public static string Id(int i) => $"bench-{i:D7}";

    public async Task<long> CountAsync(string sql)
    {
        if (Kind == "sqlite")
        {
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(DataFolder, "appointment-chat.db")};Mode=ReadOnly");
            await connection.OpenAsync();
            return (long)(await new SqliteCommand(sql, connection).ExecuteScalarAsync())!;
        }

        await using var pg = new NpgsqlConnection(DatabaseUrl);
        await pg.OpenAsync();
        return Convert.ToInt64(await new NpgsqlCommand(sql, pg).ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgresName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(Admin);
            await connection.OpenAsync();
            await new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_postgresName}\" WITH (FORCE)", connection).ExecuteNonQueryAsync();
        }

        try
        {
            Directory.Delete(DataFolder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
