using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Privacy;

/// <summary>
/// The durable record of one user's erasure (GDPR art. 17): what was asked, by whom, which steps are done with how many
/// rows each touched, and what was kept and why. It is the audit too, so it holds no erased data: ids, counts, times
/// and reasons, never a name, a message or a device token. The user id is kept as it is: it is the practice's opaque
/// key for the person (the PMS holds the identity behind it), and without it a repeated request could not answer with
/// the same record, an admin could not be told whether the erasure is theirs to see, and an unfinished erasure could
/// not be resumed. One record per user (unique).
/// </summary>
internal sealed class Erasure
{
    public long Id { get; init; }

    public required string UserId { get; init; }

    /// <summary>The organisations the user had appointments in when it was asked for, comma-separated: whose admins may read it.</summary>
    public required string OrganisationIds { get; init; }

    public required string RequestedBy { get; init; }

    /// <summary>The caller's roles the service knows (<c>admin</c>, <c>service</c>), comma-separated.</summary>
    public required string RequestedByRoles { get; init; }

    public DateTimeOffset RequestedAt { get; init; }

    /// <summary>Stream's user deletion: <c>soft</c> or <c>hard</c> (<see cref="ErasureOptions"/>).</summary>
    public required string StreamUser { get; init; }

    /// <summary>The user's messages in Stream: <c>keep</c>, <c>soft</c> or <c>hard</c>.</summary>
    public required string StreamMessages { get; init; }

    /// <summary><c>pending</c> until every step is done, then <c>completed</c>.</summary>
    public required string Status { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public int Attempts { get; set; }

    /// <summary>
    /// When the worker next resumes it while pending: a while after it was asked for (the request runs it at once; the
    /// worker finishes it if that request died), then after each failure with backoff. Once completed: when its local
    /// steps run once more for late webhooks (<see cref="Erasures.LateEventsDelay"/>), then null.
    /// </summary>
    public DateTimeOffset? NextAttemptAt { get; set; }

    public string? LastError { get; set; }

    /// <summary>The steps, as JSON (<see cref="ErasureStep"/>): done ones with their time and count.</summary>
    public required string Steps { get; set; }

    /// <summary>What was kept and why, as JSON (<see cref="KeptRecord"/>), decided when it was asked for.</summary>
    public required string Kept { get; init; }

    public const int MaxErrorLength = 500;
}

internal static class ErasureStatus
{
    public const string Pending = "pending";
    public const string Completed = "completed";
}

internal static class PrivacyModel
{
    extension(ChatDbContext db)
    {
        public DbSet<Erasure> Erasures => db.Set<Erasure>();
    }

    /// <summary>Records a new erasure unless the user has one (a concurrent first request): true when this call recorded it.</summary>
    public static async Task<bool> TryInsertErasureAsync(this ChatDbContext db, Erasure e, CancellationToken cancellationToken)
    {
        var at = db.Stored<Erasure>(nameof(Erasure.RequestedAt), e.RequestedAt);
        var resumeAt = db.Stored<Erasure>(nameof(Erasure.NextAttemptAt), e.NextAttemptAt);
        return await db.Database.ExecuteSqlAsync($"""
            INSERT INTO privacy_erasures ("UserId", "OrganisationIds", "RequestedBy", "RequestedByRoles", "RequestedAt", "StreamUser", "StreamMessages",
                "Status", "Attempts", "NextAttemptAt", "Steps", "Kept")
            VALUES ({e.UserId}, {e.OrganisationIds}, {e.RequestedBy}, {e.RequestedByRoles}, {at}, {e.StreamUser}, {e.StreamMessages},
                {e.Status}, {0}, {resumeAt}, {e.Steps}, {e.Kept})
            ON CONFLICT ("UserId") DO NOTHING
            """, cancellationToken) == 1;
    }
}

internal sealed class ErasureConfiguration : IEntityTypeConfiguration<Erasure>
{
    public void Configure(EntityTypeBuilder<Erasure> builder)
    {
        builder.ToTable("privacy_erasures");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.UserId).HasMaxLength(StreamIds.MaxUserIdLength);
        builder.HasIndex(e => e.UserId).IsUnique();
        builder.Property(e => e.OrganisationIds).HasMaxLength(4000);
        builder.Property(e => e.RequestedBy).HasMaxLength(CallerIds.MaxIdLength);
        builder.Property(e => e.RequestedByRoles).HasMaxLength(100);
        builder.Property(e => e.StreamUser).HasMaxLength(8);
        builder.Property(e => e.StreamMessages).HasMaxLength(8);
        builder.Property(e => e.Status).HasMaxLength(16);
        builder.Property(e => e.LastError).HasMaxLength(Erasure.MaxErrorLength);
        builder.HasIndex(e => e.NextAttemptAt).HasFilter("\"Status\" = 'pending'").HasDatabaseName("ix_erasures_pending_due");
    }
}
