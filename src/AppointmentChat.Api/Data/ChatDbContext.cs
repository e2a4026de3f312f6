using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
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
            user.Property(u => u.StreamName).HasMaxLength(Appointment.MaxNameLength);
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

internal sealed class PostgresChatDbContext(DbContextOptions<PostgresChatDbContext> options) : ChatDbContext(options);
