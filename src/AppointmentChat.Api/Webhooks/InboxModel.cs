using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Webhooks;

/// <summary>Where received webhooks are kept (the inbox).</summary>
internal static class InboxModel
{
    extension(ChatDbContext db)
    {
        public DbSet<InboxEvent> InboxEvents => db.Set<InboxEvent>();
    }

    /// <summary>
    /// Stores one event as pending unless an event with its key is stored (placeholders <c>{0}</c>–<c>{6}</c>: key,
    /// type, channel, payload, received, status, next attempt). A redelivery meets the unique key without an exception.
    /// </summary>
    public const string InsertSql = """
        INSERT INTO webhook_inbox ("DedupKey", "EventType", "ChannelId", "Payload", "ReceivedAt", "Status", "Attempts", "NextAttemptAt")
        VALUES ({0}, {1}, {2}, {3}, {4}, {5}, 0, {6})
        ON CONFLICT ("DedupKey") DO NOTHING
        """;

    /// <summary>Stores <paramref name="e"/> as pending unless an event with its key is stored; true when this call stored it.</summary>
    public static async Task<bool> InsertInboxEventAsync(this ChatDbContext db, InboxEvent e, CancellationToken cancellationToken)
    {
        object?[] values =
        [
            e.DedupKey, e.EventType, e.ChannelId, e.Payload,
            db.Stored<InboxEvent>(nameof(InboxEvent.ReceivedAt), e.ReceivedAt),
            db.Stored<InboxEvent>(nameof(InboxEvent.Status), InboxStatus.Pending),
            db.Stored<InboxEvent>(nameof(InboxEvent.NextAttemptAt), e.NextAttemptAt),
        ];
        return await db.Database.ExecuteSqlRawAsync(InsertSql, values!, cancellationToken) == 1;
    }
}

internal sealed class InboxEventConfiguration : IEntityTypeConfiguration<InboxEvent>
{
    public void Configure(EntityTypeBuilder<InboxEvent> builder)
    {
        builder.ToTable("webhook_inbox");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.DedupKey).HasMaxLength(InboxEvent.MaxDedupKeyLength);
        builder.HasIndex(e => e.DedupKey).IsUnique();
        builder.Property(e => e.EventType).HasMaxLength(100);
        builder.Property(e => e.ChannelId).HasMaxLength(64);
        builder.Property(e => e.Status).HasConversion(ChatDbContext.KebabCase<InboxStatus>()).HasMaxLength(16);
        builder.Property(e => e.Note).HasMaxLength(InboxEvent.MaxNoteLength);
        builder.Property(e => e.LeaseOwner).HasMaxLength(64);
        // The inbox keeps the events it took for days (Operations/Retention.cs), and a queue's indexes should not grow
        // with that: each index holds only the rows one reader looks for. Claims walk the pending events in due order;
        // the backlog's age (the processor's metric, readiness) is the first pending one received; operators list the
        // dead ones; retention deletes the processed and ignored ones (the only ones with a ProcessedAt) oldest first.
        // With one (Status, NextAttemptAt) index for all of it, the backlog's age would read every pending entry.
        const string pending = "\"Status\" = 'pending'";
        builder.HasIndex(e => e.NextAttemptAt).HasFilter(pending).HasDatabaseName("ix_inbox_pending_due");
        builder.HasIndex(e => e.ReceivedAt).HasFilter(pending).HasDatabaseName("ix_inbox_pending_received");
        builder.HasIndex(e => e.Id).HasFilter("\"Status\" = 'dead'").HasDatabaseName("ix_inbox_dead");
        builder.HasIndex(e => e.ProcessedAt).HasFilter("\"ProcessedAt\" IS NOT NULL").HasDatabaseName("ix_inbox_processed");
    }
}
