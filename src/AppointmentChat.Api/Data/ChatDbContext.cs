using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace AppointmentChat.Api.Data;

/// <summary>
/// The service's database. One model, two providers: <see cref="SqliteChatDbContext"/> and
/// <see cref="PostgresChatDbContext"/> exist only so that each keeps its own migrations.
/// </summary>
internal abstract class ChatDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Appointment> Appointments => Set<Appointment>();

    public DbSet<ChatUser> ChatUsers => Set<ChatUser>();

    public DbSet<InboxEvent> InboxEvents => Set<InboxEvent>();

    public DbSet<Notification> Notifications => Set<Notification>();

    public DbSet<PushDelivery> PushDeliveries => Set<PushDelivery>();

    public DbSet<Device> Devices => Set<Device>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Appointment>(appointment =>
        {
            appointment.ToTable("appointments");
            appointment.HasKey(a => a.Id);
            appointment.Property(a => a.Id).HasMaxLength(Appointment.MaxIdLength);
            appointment.Property(a => a.PetOwnerId).HasMaxLength(64);
            appointment.Property(a => a.VetId).HasMaxLength(64);
            appointment.Property(a => a.OrganisationId).HasMaxLength(64);
            appointment.Property(a => a.PetOwnerName).HasMaxLength(Appointment.MaxNameLength);
            appointment.Property(a => a.PetName).HasMaxLength(Appointment.MaxNameLength);
            appointment.Property(a => a.VetName).HasMaxLength(Appointment.MaxNameLength);
            appointment.Property(a => a.Status).HasConversion(KebabCase<AppointmentStatus>()).HasMaxLength(16);
            appointment.Property(a => a.ChannelId).HasMaxLength(64);
            appointment.Property(a => a.ChatStatus).HasConversion(KebabCase<ChatStatus>()).HasMaxLength(16);
            appointment.Property(a => a.ChatEndedBy).HasMaxLength(64);
            appointment.Property(a => a.ChannelPetOwnerId).HasMaxLength(64);
            appointment.Property(a => a.ChannelVetId).HasMaxLength(64);
            appointment.Property(a => a.LastMessageText).HasMaxLength(Channels.ChatLimits.MaxPreviewLength);
            appointment.Property(a => a.LastMessageId).HasMaxLength(255);
            appointment.Property(a => a.ChatSyncError).HasMaxLength(500);
            appointment.Property(a => a.ChatLeaseOwner).HasMaxLength(64);
            appointment.Property(a => a.Version).IsConcurrencyToken();
            appointment.HasIndex(a => a.ChannelId).IsUnique();

            // The chat list reads a page in index order, whatever the number of chats stored.
            const string hasChat = "\"ChannelId\" IS NOT NULL";
            appointment.HasIndex(a => new { a.VetId, a.LastActivityAt, a.Id }).HasFilter(hasChat).HasDatabaseName("ix_chats_by_vet");
            appointment.HasIndex(a => new { a.PetOwnerId, a.LastActivityAt, a.Id }).HasFilter(hasChat).HasDatabaseName("ix_chats_by_pet_owner");
            appointment.HasIndex(a => new { a.OrganisationId, a.LastActivityAt, a.Id }).HasFilter(hasChat).HasDatabaseName("ix_chats_by_organisation");
            appointment.HasIndex(a => a.ChatSyncDue).HasFilter("\"ChatSyncDue\" IS NOT NULL").HasDatabaseName("ix_chats_sync_due");
        });

        modelBuilder.Entity<ChatUser>(user =>
        {
            user.ToTable("chat_users");
            user.HasKey(u => u.Id);
            user.Property(u => u.Id).HasMaxLength(64);
            user.Property(u => u.Name).HasMaxLength(Appointment.MaxNameLength);
            user.Property(u => u.PushedName).HasMaxLength(Appointment.MaxNameLength);
        });

        modelBuilder.Entity<InboxEvent>(inbox =>
        {
            inbox.ToTable("webhook_inbox");
            inbox.HasKey(e => e.Id);
            inbox.Property(e => e.DedupKey).HasMaxLength(InboxEvent.MaxDedupKeyLength);
            inbox.HasIndex(e => e.DedupKey).IsUnique();
            inbox.Property(e => e.EventType).HasMaxLength(100);
            inbox.Property(e => e.ChannelId).HasMaxLength(64);
            inbox.Property(e => e.Status).HasConversion(KebabCase<InboxStatus>()).HasMaxLength(16);
            inbox.Property(e => e.Note).HasMaxLength(InboxEvent.MaxNoteLength);
            inbox.Property(e => e.LeaseOwner).HasMaxLength(64);
            // The inbox keeps the events it took for days (Operations/Retention.cs), and a queue's indexes should not grow
            // with that: each index holds only the rows one reader looks for. Claims walk the pending events in due order;
            // the backlog's age (the processor's metric, readiness) is the first pending one received; operators list the
            // dead ones; retention deletes the processed and ignored ones (the only ones with a ProcessedAt) oldest first.
            // With one (Status, NextAttemptAt) index for all of it, the backlog's age read every pending entry (91 ms
            // per pass with a backlog of 40,000, bench/findings.md).
            const string pending = "\"Status\" = 'pending'";
            inbox.HasIndex(e => e.NextAttemptAt).HasFilter(pending).HasDatabaseName("ix_inbox_pending_due");
            inbox.HasIndex(e => e.ReceivedAt).HasFilter(pending).HasDatabaseName("ix_inbox_pending_received");
            inbox.HasIndex(e => e.Id).HasFilter("\"Status\" = 'dead'").HasDatabaseName("ix_inbox_dead");
            inbox.HasIndex(e => e.ProcessedAt).HasFilter("\"ProcessedAt\" IS NOT NULL").HasDatabaseName("ix_inbox_processed");
        });

        modelBuilder.Entity<Notification>(notification =>
        {
            notification.ToTable("notification_outbox");
            notification.HasKey(n => n.Id);
            notification.Property(n => n.DedupKey).HasMaxLength(InboxEvent.MaxDedupKeyLength + 70);
            notification.HasIndex(n => n.DedupKey).IsUnique();
            notification.Property(n => n.RecipientUserId).HasMaxLength(64);
            notification.Property(n => n.Title).HasMaxLength(Appointment.MaxNameLength);
            notification.Property(n => n.Body).HasMaxLength(1000);
            notification.Property(n => n.AppointmentId).HasMaxLength(Appointment.MaxIdLength);
            notification.Property(n => n.ChannelId).HasMaxLength(64);
            notification.Property(n => n.MessageId).HasMaxLength(255);
            notification.Property(n => n.Status).HasConversion(KebabCase<NotificationStatus>()).HasMaxLength(16);
            notification.Property(n => n.Error).HasMaxLength(500);
            notification.Property(n => n.LeaseOwner).HasMaxLength(64);
            notification.HasIndex(n => new { n.Status, n.NextAttemptAt }).HasDatabaseName("ix_outbox_due");
            notification.HasIndex(n => n.CreatedAt).HasDatabaseName("ix_outbox_created"); // retention, oldest first
        });

        modelBuilder.Entity<PushDelivery>(delivery =>
        {
            delivery.ToTable("push_deliveries");
            delivery.HasKey(d => d.Id);
            delivery.Property(d => d.Token).HasMaxLength(Device.MaxTokenLength);
            delivery.HasIndex(d => new { d.NotificationId, d.Token }).IsUnique();
            delivery.Property(d => d.Status).HasConversion(KebabCase<DeliveryStatus>()).HasMaxLength(16);
            delivery.Property(d => d.Error).HasMaxLength(500);
        });

        modelBuilder.Entity<Device>(device =>
        {
            device.ToTable("devices");
            device.HasKey(d => d.Token);
            device.Property(d => d.Token).HasMaxLength(Device.MaxTokenLength);
            device.Property(d => d.UserId).HasMaxLength(64);
            device.Property(d => d.Platform).HasConversion(KebabCase<DevicePlatform>()).HasMaxLength(16);
            device.HasIndex(d => d.UserId);
        });
    }

    /// <summary>Enums are stored as the same kebab-case words the API uses ("checked-in", "no-show").</summary>
    private static ValueConverter<TEnum, string> KebabCase<TEnum>() where TEnum : struct, Enum =>
        new(value => EnumNames<TEnum>.ToName(value), name => EnumNames<TEnum>.FromName(name));
}

internal sealed class SqliteChatDbContext(DbContextOptions<SqliteChatDbContext> options) : ChatDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no date-time type: store instants as Unix milliseconds so they sort and compare in SQL.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UnixMillisecondsConverter>();
    }

    private sealed class UnixMillisecondsConverter() : ValueConverter<DateTimeOffset, long>(
        value => value.ToUnixTimeMilliseconds(),
        value => DateTimeOffset.FromUnixTimeMilliseconds(value));
}

internal sealed class PostgresChatDbContext(DbContextOptions<PostgresChatDbContext> options) : ChatDbContext(options)
{
    /// <summary>
    /// Text compares byte by byte (<c>COLLATE "C"</c>), as in SQLite and in the service's own ordinal comparisons: the
    /// columns hold identifiers, codes and text that no query sorts, so a language's rules add nothing but cost. Under the
    /// database's locale every comparison of an index probe went through the C library's <c>strcoll</c>: the chat list
    /// joins each of its rows to its pet owner by id, and among 1,000,000 chats a list took ~25 % more of PostgreSQL's
    /// time than among 1,000 (bench/findings.md); byte-wise, both cost the same, less than either did.
    /// </summary>
    public const string Collation = "C";

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(entity => entity.GetProperties()))
        {
            if ((property.GetValueConverter()?.ProviderClrType ?? property.ClrType) == typeof(string))
            {
                property.SetCollation(Collation);
            }
        }
    }
}
