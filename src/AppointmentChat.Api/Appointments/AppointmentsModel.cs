using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
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

    /// <summary>
    /// Inserts a new appointment unless one with its id exists (a concurrent first push): true when this call inserted it.
    /// The row is inserted whole, its chat's columns (Channels' <c>Chat</c>, the same row) empty: no chat yet, nothing due.
    /// </summary>
    public static async Task<bool> TryInsertAppointmentAsync(this ChatDbContext db, Appointment a, CancellationToken cancellationToken)
    {
        var startsAt = db.Stored<Appointment>(nameof(Appointment.StartsAt), a.StartsAt);
        var status = db.Stored<Appointment>(nameof(Appointment.Status), a.Status);
        var created = db.Stored<Appointment>(nameof(Appointment.CreatedAt), a.CreatedAt);
        var updated = db.Stored<Appointment>(nameof(Appointment.UpdatedAt), a.UpdatedAt);
        return await db.Database.ExecuteSqlAsync($"""
            INSERT INTO appointments ("Id", "PetOwnerId", "PetOwnerName", "PetName", "VetId", "VetName", "OrganisationId", "StartsAt",
                "DurationMinutes", "Status", "ChatActivationMinutes", "TimeZone", "ChatFrozen", "ChatSyncAttempts", "Version", "CreatedAt", "UpdatedAt")
            VALUES ({a.Id}, {a.PetOwnerId}, {a.PetOwnerName}, {a.PetName}, {a.VetId}, {a.VetName}, {a.OrganisationId}, {startsAt},
                {a.DurationMinutes}, {status}, {a.ChatActivationMinutes}, {a.TimeZone}, {false}, {0}, {0}, {created}, {updated})
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
        // Named explicitly: the chat list's indexes (Channels' ChatConfiguration) read these columns of the same row.
        builder.Property(a => a.PetOwnerId).HasColumnName(nameof(Appointment.PetOwnerId)).HasMaxLength(64);
        builder.Property(a => a.VetId).HasColumnName(nameof(Appointment.VetId)).HasMaxLength(64);
        builder.Property(a => a.OrganisationId).HasColumnName(nameof(Appointment.OrganisationId)).HasMaxLength(64);
        builder.Property(a => a.PetOwnerName).HasMaxLength(Appointment.MaxNameLength);
        builder.Property(a => a.PetName).HasMaxLength(Appointment.MaxNameLength);
        builder.Property(a => a.VetName).HasMaxLength(Appointment.MaxNameLength);
        builder.Property(a => a.TimeZone).HasMaxLength(TimeZones.MaxIdLength);
        builder.Property(a => a.Status).HasConversion(ChatDbContext.KebabCase<AppointmentStatus>()).HasMaxLength(16);
        builder.Property(a => a.Version).IsConcurrencyToken();
    }
}
