using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using AppointmentChat.Api.Appointments;

namespace AppointmentChat.Api.Notifications;

/// <summary>Where devices and the push outbox are kept, and their writes that meet concurrent writers without an exception.</summary>
internal static class NotificationsModel
{
    extension(ChatDbContext db)
    {
        public DbSet<Notification> Notifications => db.Set<Notification>();

        public DbSet<PushDelivery> PushDeliveries => db.Set<PushDelivery>();

        public DbSet<Device> Devices => db.Set<Device>();
    }

    /// <summary>
    /// Registers a device token for a user, taking it over from whoever had it. Returns whether this call made it the
    /// user's (a new token, or one taken over): of concurrent registrations by one user exactly one is told so, as
    /// each step is a single conditional statement that only one of them can match.
    /// </summary>
    public static async Task<bool> UpsertDeviceAsync(this ChatDbContext db, string token, string userId, DevicePlatform platform, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var stored = db.Stored<Device>(nameof(Device.UpdatedAt), at);
        var kind = db.Stored<Device>(nameof(Device.Platform), platform);
        while (true)
        {
            var inserted = await db.Database.ExecuteSqlAsync($"""
                INSERT INTO devices ("Token", "UserId", "Platform", "CreatedAt", "UpdatedAt")
                VALUES ({token}, {userId}, {kind}, {stored}, {stored})
                ON CONFLICT ("Token") DO NOTHING
                """, cancellationToken);
            if (inserted == 1)
            {
                return true;
            }

            var takenOver = await db.Database.ExecuteSqlAsync($"""
                UPDATE devices SET "UserId" = {userId}, "Platform" = {kind}, "UpdatedAt" = {stored}
                WHERE "Token" = {token} AND "UserId" <> {userId}
                """, cancellationToken);
            if (takenOver == 1)
            {
                return true;
            }

            var refreshed = await db.Database.ExecuteSqlAsync($"""
                UPDATE devices SET "Platform" = {kind}, "UpdatedAt" = {stored}
                WHERE "Token" = {token} AND "UserId" = {userId}
                """, cancellationToken);
            if (refreshed == 1)
            {
                return false;
            }

            // Removed between the statements: register it afresh.
        }
    }

    /// <summary>
    /// Queues pushes in one statement, skipping any whose key is already queued (<c>ON CONFLICT DO NOTHING</c>): the
    /// same message can arrive in more than one event, and that is no error.
    /// </summary>
    public static async Task InsertNotificationsAsync(this ChatDbContext db, IReadOnlyList<Notification> notifications, CancellationToken cancellationToken)
    {
        const int rowsPerStatement = 500;
        for (var start = 0; start < notifications.Count; start += rowsPerStatement)
        {
            var values = new System.Text.StringBuilder();
            var parameters = new List<object?>();
            foreach (var n in notifications.Skip(start).Take(rowsPerStatement))
            {
                var p = parameters.Count;
                values.Append(values.Length == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture,
                    $"({{{p}}}, {{{p + 1}}}, {{{p + 2}}}, {{{p + 3}}}, {{{p + 4}}}, {{{p + 5}}}, {{{p + 6}}}, {{{p + 7}}}, 0, {{{p + 8}}}, {{{p + 9}}})");
                parameters.AddRange([
                    n.DedupKey, n.RecipientUserId, n.Title, n.Body, n.AppointmentId, n.ChannelId, n.MessageId,
                    db.Stored<Notification>(nameof(Notification.Status), n.Status),
                    db.Stored<Notification>(nameof(Notification.NextAttemptAt), n.NextAttemptAt),
                    db.Stored<Notification>(nameof(Notification.CreatedAt), n.CreatedAt)]);
            }

            var sql = $"""
                INSERT INTO notification_outbox ("DedupKey", "RecipientUserId", "Title", "Body", "AppointmentId", "ChannelId", "MessageId", "Status", "Attempts", "NextAttemptAt", "CreatedAt")
                VALUES {values}
                ON CONFLICT ("DedupKey") DO NOTHING
                """;
            await db.Database.ExecuteSqlRawAsync(sql, parameters!, cancellationToken);
        }
    }
}

internal sealed class NotificationConfiguration : IEntityTypeConfiguration<Notification>
{
    public void Configure(EntityTypeBuilder<Notification> builder)
    {
        builder.ToTable("notification_outbox");
        builder.HasKey(n => n.Id);
        builder.Property(n => n.DedupKey).HasMaxLength(Notification.MaxDedupKeyLength);
        builder.HasIndex(n => n.DedupKey).IsUnique();
        builder.Property(n => n.RecipientUserId).HasMaxLength(64);
        builder.Property(n => n.Title).HasMaxLength(Appointment.MaxNameLength);
        builder.Property(n => n.Body).HasMaxLength(1000);
        builder.Property(n => n.AppointmentId).HasMaxLength(Appointment.MaxIdLength);
        builder.Property(n => n.ChannelId).HasMaxLength(64);
        builder.Property(n => n.MessageId).HasMaxLength(255);
        builder.Property(n => n.Status).HasConversion(ChatDbContext.KebabCase<NotificationStatus>()).HasMaxLength(16);
        builder.Property(n => n.Error).HasMaxLength(500);
        builder.Property(n => n.LeaseOwner).HasMaxLength(64);
        builder.HasIndex(n => new { n.Status, n.NextAttemptAt }).HasDatabaseName("ix_outbox_due");
        builder.HasIndex(n => n.CreatedAt).HasDatabaseName("ix_outbox_created"); // retention, oldest first
    }
}

internal sealed class PushDeliveryConfiguration : IEntityTypeConfiguration<PushDelivery>
{
    public void Configure(EntityTypeBuilder<PushDelivery> builder)
    {
        builder.ToTable("push_deliveries");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Token).HasMaxLength(Device.MaxTokenLength);
        builder.HasIndex(d => new { d.NotificationId, d.Token }).IsUnique();
        builder.Property(d => d.Status).HasConversion(ChatDbContext.KebabCase<DeliveryStatus>()).HasMaxLength(16);
        builder.Property(d => d.Error).HasMaxLength(500);
    }
}

internal sealed class DeviceConfiguration : IEntityTypeConfiguration<Device>
{
    public void Configure(EntityTypeBuilder<Device> builder)
    {
        builder.ToTable("devices");
        builder.HasKey(d => d.Token);
        builder.Property(d => d.Token).HasMaxLength(Device.MaxTokenLength);
        builder.Property(d => d.UserId).HasMaxLength(64);
        builder.Property(d => d.Platform).HasConversion(ChatDbContext.KebabCase<DevicePlatform>()).HasMaxLength(16);
        builder.HasIndex(d => d.UserId);
    }
}
