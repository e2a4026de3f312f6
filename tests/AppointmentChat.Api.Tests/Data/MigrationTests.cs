using System.Net.Http.Json;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Unread;
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
    /// SQLite keeps a chat's last message time, its channel's updated_at, an unread message's sending time and a member's
    /// oldest unread to the tick since migration StreamTimesToTheTick, and as Unix milliseconds before it: the migration
    /// converts what is stored, both ways.
    /// </summary>
    [Fact]
    public async Task OnSqliteAChatsStreamTimesSurviveTheMigrationToTicksAndBack()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite);
        var s = Scenario.New();
        (await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddDays(1)))).EnsureSuccessStatusCode();
        var messageAt = DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_123);
        var updatedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_456);
        await app.InDatabaseAsync(db => db.Chats.Where(c => c.AppointmentId == s.AppointmentId)
            .ExecuteUpdateAsync(set => set.SetProperty(c => c.LastMessageAt, messageAt).SetProperty(c => c.ChannelUpdatedAt, updatedAt)));
        await app.InDatabaseAsync(db =>
        {
            db.Add(new UnreadCount { UserId = s.VetId, ChannelId = s.ChannelId, Count = 1, Since = messageAt });
            db.Add(new UnreadMessage { UserId = s.VetId, ChannelId = s.ChannelId, MessageId = "m-1", SentAt = messageAt });
            return db.SaveChangesAsync();
        });
        // As stored: the last message's time, the channel's updated_at, the unread message's and the oldest unread's.
        Task<long[]> StoredAsync() => app.InDatabaseAsync(async db => new[]
        {
            await db.Database.SqlQueryRaw<long>("""SELECT "LastMessageAt" AS "Value" FROM appointments WHERE "LastMessageAt" IS NOT NULL""").SingleAsync(),
            await db.Database.SqlQueryRaw<long>("""SELECT "ChannelUpdatedAt" AS "Value" FROM appointments WHERE "ChannelUpdatedAt" IS NOT NULL""").SingleAsync(),
            await db.Database.SqlQueryRaw<long>("""SELECT "SentAt" AS "Value" FROM unread_messages""").SingleAsync(),
            await db.Database.SqlQueryRaw<long>("""SELECT "Since" AS "Value" FROM unread_counts""").SingleAsync(),
        });
        Task MigrateAsync(string? to) => app.InDatabaseAsync(async db =>
        {
            await db.GetService<IMigrator>().MigrateAsync(to);
            return 0;
        });
        Assert.Equal([messageAt.UtcTicks, updatedAt.UtcTicks, messageAt.UtcTicks, messageAt.UtcTicks], await StoredAsync());

        await MigrateAsync("UnreadMessages");
        Assert.Equal([messageAt.ToUnixTimeMilliseconds(), updatedAt.ToUnixTimeMilliseconds(), messageAt.ToUnixTimeMilliseconds(), messageAt.ToUnixTimeMilliseconds()], await StoredAsync());

        await MigrateAsync(null);
        Assert.Equal([messageAt.UtcTicks, updatedAt.UtcTicks, messageAt.UtcTicks, messageAt.UtcTicks], await StoredAsync());
        var chat = await app.InDatabaseAsync(db => db.Chats.AsNoTracking().SingleAsync(c => c.AppointmentId == s.AppointmentId));
        Assert.Equal((messageAt, updatedAt), (chat.LastMessageAt, chat.ChannelUpdatedAt));
        Assert.Equal((messageAt, messageAt), await app.InDatabaseAsync(async db =>
            ((await db.Set<UnreadMessage>().AsNoTracking().SingleAsync()).SentAt, (await db.Set<UnreadCount>().AsNoTracking().SingleAsync()).Since)));
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
