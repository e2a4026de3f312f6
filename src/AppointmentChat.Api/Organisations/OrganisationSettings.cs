using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Organisations;

/// <summary>
/// A practice's own settings, as its admin or the PMS last put them. A null field is not the practice's own: the
/// service-wide setting applies (<see cref="PracticeSettings"/>).
/// </summary>
internal sealed class OrganisationSettings
{
    public const int MaxSystemUserNameLength = 100;
    public const int MaxEndMessageLength = 5000;

    public required string OrganisationId { get; init; }

    /// <summary>IANA zone the organisation's wall-clock times are read in.</summary>
    public string? TimeZone { get; set; }

    public int? ChatActivationMinutes { get; set; }

    public int? CloseGraceMinutes { get; set; }

    public string? SystemUserName { get; set; }

    /// <summary>Sent verbatim when a chat ends.</summary>
    public string? EndMessage { get; set; }

    /// <summary>Of the system messages and push texts: one of <see cref="PracticeTexts.Languages"/>.</summary>
    public string? Language { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class OrganisationSettingsConfiguration : IEntityTypeConfiguration<OrganisationSettings>
{
    public void Configure(EntityTypeBuilder<OrganisationSettings> builder)
    {
        builder.ToTable("organisation_settings");
        builder.HasKey(o => o.OrganisationId);
        builder.Property(o => o.OrganisationId).HasMaxLength(StreamIds.MaxUserIdLength);
        builder.Property(o => o.TimeZone).HasMaxLength(TimeZones.MaxIdLength);
        builder.Property(o => o.SystemUserName).HasMaxLength(OrganisationSettings.MaxSystemUserNameLength);
        builder.Property(o => o.EndMessage).HasMaxLength(OrganisationSettings.MaxEndMessageLength);
        builder.Property(o => o.Language).HasMaxLength(8);
    }
}

internal static class OrganisationsModel
{
    extension(ChatDbContext db)
    {
        public DbSet<OrganisationSettings> OrganisationSettings => db.Set<OrganisationSettings>();
    }
}
