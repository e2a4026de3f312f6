using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Appointments;

/// <summary>Where appointments are kept: their table, and the writes that are more than EF Core's change tracking.</summary>
internal static class AppointmentsModel
{
    extension(ChatDbContext db)
    {
        public DbSet<Appointment> Appointments => db.Set<Appointment>();
    }

    /// <summary>Inserts a new appointment unless one with its id exists (a concurrent first push): true when this call inserted it.</summary>
    public static async Task<bool> TryInsertAppointmentAsync(this ChatDbContext db, Appointment a, CancellationToken cancellationToken)
    {
        var startsAt = db.Stored<Appointment>(nameof(Appointment.StartsAt), a.StartsAt);
        var status = db.Stored<Appointment>(nameof(Appointment.Status), a.Status);
        var created = db.Stored<Appointment>(nameof(Appointment.CreatedAt), a.CreatedAt);
        var updated = db.Stored<Appointment>(nameof(Appointment.UpdatedAt), a.UpdatedAt);
        return await db.Database.ExecuteSqlAsync($"""
            INSERT INTO appointments ("Id", "PetOwnerId", "PetOwnerName", "PetName", "VetId", "VetName", "OrganisationId", "StartsAt",
                "DurationMinutes", "Status", "ChatActivationMinutes", "ChatFrozen", "ChatSyncAttempts", "Version", "CreatedAt", "UpdatedAt")
            VALUES ({a.Id}, {a.PetOwnerId}, {a.PetOwnerName}, {a.PetName}, {a.VetId}, {a.VetName}, {a.OrganisationId}, {startsAt},
                {a.DurationMinutes}, {status}, {a.ChatActivationMinutes}, {false}, {0}, {0}, {created}, {updated})
            ON CONFLICT ("Id") DO NOTHING
            """, cancellationToken) == 1;
    }
}

internal sealed class AppointmentConfiguration : IEntityTypeConfiguration<Appointment>
{
    public void Configure(EntityTypeBuilder<Appointment> builder)
    {
        builder.ToTable("appointments");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Id).HasMaxLength(Appointment.MaxIdLength);
        builder.Property(a => a.PetOwnerId).HasMaxLength(64);
        builder.Property(a => a.VetId).HasMaxLength(64);
        builder.Property(a => a.OrganisationId).HasMaxLength(64);
        builder.Property(a => a.PetOwnerName).HasMaxLength(Appointment.MaxNameLength);
        builder.Property(a => a.PetName).HasMaxLength(Appointment.MaxNameLength);
        builder.Property(a => a.VetName).HasMaxLength(Appointment.MaxNameLength);
        builder.Property(a => a.Status).HasConversion(ChatDbContext.KebabCase<AppointmentStatus>()).HasMaxLength(16);
        builder.Property(a => a.ChannelId).HasMaxLength(64);
        builder.Property(a => a.ChatStatus).HasConversion(ChatDbContext.KebabCase<ChatStatus>()).HasMaxLength(16);
        builder.Property(a => a.ChatEndedBy).HasMaxLength(64);
        builder.Property(a => a.ChannelPetOwnerId).HasMaxLength(64);
        builder.Property(a => a.ChannelVetId).HasMaxLength(64);
        builder.Property(a => a.LastMessageText).HasMaxLength(Appointment.MaxLastMessageLength);
        builder.Property(a => a.LastMessageId).HasMaxLength(255);
        builder.Property(a => a.ChatSyncError).HasMaxLength(500);
        builder.Property(a => a.ChatLeaseOwner).HasMaxLength(64);
        builder.Property(a => a.Version).IsConcurrencyToken();
        builder.HasIndex(a => a.ChannelId).IsUnique();

        // The chat list reads a page in index order, whatever the number of chats stored.
        const string hasChat = "\"ChannelId\" IS NOT NULL";
        builder.HasIndex(a => new { a.VetId, a.LastActivityAt, a.Id }).HasFilter(hasChat).HasDatabaseName("ix_chats_by_vet");
        builder.HasIndex(a => new { a.PetOwnerId, a.LastActivityAt, a.Id }).HasFilter(hasChat).HasDatabaseName("ix_chats_by_pet_owner");
        builder.HasIndex(a => new { a.OrganisationId, a.LastActivityAt, a.Id }).HasFilter(hasChat).HasDatabaseName("ix_chats_by_organisation");
        builder.HasIndex(a => a.ChatSyncDue).HasFilter("\"ChatSyncDue\" IS NOT NULL").HasDatabaseName("ix_chats_sync_due");
    }
}
