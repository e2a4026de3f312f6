using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using AppointmentChat.Api.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>The service with push through a fake FCM and a small webhook body limit, started on first use.</summary>
public abstract class WebhookFixture(DatabaseKind kind) : LazyFixture<ChatApp>(kind)
{
    public const int BodyLimit = 8192;

    public FakeFcm Fcm { get; private set; } = null!;

    protected override async Task<ChatApp> CreateAsync()
    {
        Fcm = Own(await FakeFcm.StartAsync());
        return Own(await ChatApp.StartAsync(Kind, Settings(Fcm)));
    }

    public static Dictionary<string, string?> Settings(FakeFcm fcm)
    {
        var settings = fcm.Settings();
        settings["Webhooks:MaxBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Webhooks:MaxAttempts"] = "3";
        settings["Webhooks:FirstRetryDelay"] = "00:00:00.100";
        settings["Webhooks:PollInterval"] = "00:00:00.200";
        return settings;
    }
}

public sealed class SqliteWebhookApp() : WebhookFixture(DatabaseKind.Sqlite);

public sealed class PostgresWebhookApp() : WebhookFixture(DatabaseKind.Postgres);

internal static class WebhookTestData
{
    /// <summary>An appointment with a chat, written straight to the database (no Stream needed to receive webhooks).</summary>
    public static async Task<Scenario> SeedChatAsync(ChatApp app)
    {
        var s = Scenario.New();
        var now = DateTimeOffset.UtcNow;
        await app.InDatabaseAsync(async db =>
        {
            db.Chats.Add(new Chat
            {
                AppointmentId = s.AppointmentId,
                Appointment = new Appointment
                {
                    Id = s.AppointmentId,
                    PetOwnerId = s.PetOwnerId,
                    PetOwnerName = "Alex Owner",
                    VetId = s.VetId,
                    OrganisationId = s.Org,
                    StartsAt = now.AddMinutes(2),
                    DurationMinutes = 30,
                    ChatActivationMinutes = 5,
                    CreatedAt = now,
                    UpdatedAt = now,
                },
                ChannelId = s.ChannelId,
                Status = ChatStatus.Active,
                CreatedAt = now,
                LastActivityAt = now,
            });
            return await db.SaveChangesAsync();
        });
        return s;
    }

    public static async Task RegisterDeviceAsync(ChatApp app, string userId, string token, string platform = "android")
    {
        var response = await app.ClientFor(userId).PostJsonAsync("/api/devices", new { token, platform });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Every stored webhook: the inbox's, and on SQLite those acknowledged but still in the staging file (as pending
    /// events without an id). Staged ones are read first, so one moved meanwhile is found in the inbox and not lost.
    /// </summary>
    internal static async Task<List<InboxEvent>> InboxAsync(ChatApp app, Func<InboxEvent, bool>? filter = null)
    {
        var staged = await StagedAsync(app);
        var inbox = await app.InDatabaseAsync(db => db.InboxEvents.AsNoTracking().ToListAsync());
        var moved = inbox.Select(e => e.DedupKey).ToHashSet();
        return [.. inbox.Concat(staged.Where(e => !moved.Contains(e.DedupKey))).Where(filter ?? (_ => true))];
    }

    /// <summary>The webhooks waiting in SQLite's staging file (none on PostgreSQL, or before the first one arrived).</summary>
    internal static async Task<List<InboxEvent>> StagedAsync(ChatApp app)
    {
        var database = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        return database.Provider == DatabaseProvider.Sqlite ? await StagedAsync(SqliteInboxWriter.StagingFile(database.ConnectionString)) : [];
    }

    internal static async Task<List<InboxEvent>> StagedAsync(string stagingFile)
    {
        var staged = new List<InboxEvent>();
        if (!File.Exists(stagingFile))
        {
            return staged;
        }

        await using var connection = new SqliteConnection($"Data Source={stagingFile};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = new SqliteCommand("""SELECT "DedupKey", "EventType", "ChannelId", "Payload", "ReceivedAt", "NextAttemptAt" FROM staged_webhooks""", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            staged.Add(new InboxEvent
            {
                DedupKey = reader.GetString(0),
                EventType = reader.GetString(1),
                ChannelId = reader.IsDBNull(2) ? null : reader.GetString(2),
                Payload = reader.GetString(3),
                ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                NextAttemptAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            });
        }

        return staged;
    }

    internal static async Task<InboxEvent> ProcessedAsync(ChatApp app, string dedupKey)
    {
        InboxEvent? found = null;
        await Eventually.TrueAsync(async () =>
        {
            found = await app.InDatabaseAsync(db => db.InboxEvents.AsNoTracking().FirstOrDefaultAsync(e => e.DedupKey == dedupKey));
            return found is { Status: not InboxStatus.Pending };
        }, $"inbox event {dedupKey} to be processed");
        return found!;
    }
}
