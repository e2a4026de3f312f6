using System.Net.Http.Json;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AppointmentChat.Api.Tests.Data;

/// <summary>Migrations at start: an empty database is set up without a word of alarm, and a second start finds nothing to do.</summary>
public sealed class MigrationTests
{
    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task AFirstStartOnAnEmptyDatabaseAndTheStartAfterItLogNoErrors(DatabaseKind kind)
    {
        var first = await ChatApp.StartAsync(kind);
        first.KeepDatabase = true;
        var firstErrors = first.Logs.Lines.Where(l => l.Level >= LogLevel.Error).Select(l => l.ToString()).ToList();
        await first.DisposeAsync();

        await using var second = await ChatApp.StartAsync(kind, database: first.Database);

        Assert.Empty(firstErrors);
        Assert.Empty(second.Logs.Lines.Where(l => l.Level >= LogLevel.Error).Select(l => l.ToString()));
    }

    /// <summary>The model the features configure (each its own tables) is the one the migrations of both databases build.</summary>
    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task TheMigrationsOfEachDatabaseMatchTheModel(DatabaseKind kind)
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        await using var app = await ChatApp.StartAsync(kind);

        Assert.False(await app.InDatabaseAsync(db => Task.FromResult(db.Database.HasPendingModelChanges())), "the model has changes no migration holds: add one for both databases");
        Assert.Equal(15, await app.InDatabaseAsync(db => Task.FromResult(db.Model.GetEntityTypes().Count())));
    }

    /// <summary>
    /// SQLite keeps a chat's last message time to the tick since migration LastMessageAtToTheTick, and Unix milliseconds
    /// before it: the migration converts what is stored, both ways.
    /// </summary>
    [Fact]
    public async Task OnSqliteAChatsLastMessageTimeSurvivesTheMigrationToTicksAndBack()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite);
        var s = Scenario.New();
        (await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddDays(1)))).EnsureSuccessStatusCode();
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_123);
        await app.InDatabaseAsync(db => db.Chats.Where(c => c.AppointmentId == s.AppointmentId).ExecuteUpdateAsync(set => set.SetProperty(c => c.LastMessageAt, at)));
        Task<long> StoredAsync() => app.InDatabaseAsync(db => db.Database
            .SqlQueryRaw<long>("""SELECT "LastMessageAt" AS "Value" FROM appointments WHERE "LastMessageAt" IS NOT NULL""").SingleAsync());
        Assert.Equal(at.UtcTicks, await StoredAsync());

        await app.InDatabaseAsync(async db =>
        {
            await db.GetService<IMigrator>().MigrateAsync("UnreadMessages");
            return 0;
        });
        Assert.Equal(at.ToUnixTimeMilliseconds(), await StoredAsync());

        await app.InDatabaseAsync(async db =>
        {
            await db.GetService<IMigrator>().MigrateAsync();
            return 0;
        });
        Assert.Equal(at.UtcTicks, await StoredAsync());
        Assert.Equal(at, await app.InDatabaseAsync(db => db.Chats.Where(c => c.AppointmentId == s.AppointmentId).Select(c => c.LastMessageAt).SingleAsync()));
    }

    [Fact]
    public async Task OnPostgresEveryTextColumnComparesBytewiseAsInSqlite()
    {
        await TestDatabase.RequirePostgresAsync();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Postgres);

        await using var connection = new NpgsqlConnection(app.Database.DatabaseUrl);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT table_name || '.' || column_name, coalesce(collation_name, '(the database''s)')
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name <> '__EFMigrationsHistory' AND data_type IN ('character varying', 'text')
            ORDER BY 1
            """, connection);
        var columns = new List<(string Column, string Collation)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                columns.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        Assert.Contains(columns, c => c.Column == "appointments.Id");
        Assert.Contains(columns, c => c.Column == "chat_users.Id");
        Assert.All(columns, c => Assert.True(c.Collation == "C", $"{c.Column} compares by {c.Collation}, not byte by byte"));
    }
}
