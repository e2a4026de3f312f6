using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;

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

    /// <summary>Every stored webhook (an acknowledged one is in the inbox).</summary>
    internal static async Task<List<InboxEvent>> InboxAsync(ChatApp app, Func<InboxEvent, bool>? filter = null)
    {
        var inbox = await app.InDatabaseAsync(db => db.InboxEvents.AsNoTracking().ToListAsync());
        return [.. inbox.Where(filter ?? (_ => true))];
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
