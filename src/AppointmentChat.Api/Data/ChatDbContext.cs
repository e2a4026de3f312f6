using AppointmentChat.Api.Appointments;
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
            appointment.HasIndex(a => a.ChannelId).IsUnique();
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
