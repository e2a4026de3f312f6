using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Unread;

/// <summary>
/// How many messages of one chat one member has not read, and since when. Written only by <see cref="UnreadCounts"/>.
/// </summary>
internal sealed class UnreadCount
{
    public required string UserId { get; init; }

    public required string ChannelId { get; init; }

    public int Count { get; set; }

    /// <summary>When the oldest unread message was sent; null while nothing is unread. Kept as exactly as <see cref="Through"/>.</summary>
    [KeptToTheTick]
    public DateTimeOffset? Since { get; set; }

    /// <summary>
    /// The newest moment a read or Stream's own report (a mark unread, its channel state) accounts for: a message sent no
    /// later than this is in the count already (or was read), so one that arrives again (a redelivered webhook, the
    /// catch-up pass finding it) is not counted twice. Messages after it are counted one by one
    /// (<see cref="UnreadMessage"/>), whatever order their webhooks arrive in. In UTC ticks (100 ns), kept exactly by every database: Stream's
    /// times have microseconds, and messages of one burst differ by less than a millisecond (what SQLite keeps of an instant
    /// not marked <see cref="KeptToTheTickAttribute"/>).
    /// </summary>
    public long Through { get; set; }
}

internal sealed class UnreadCountConfiguration : IEntityTypeConfiguration<UnreadCount>
{
    public void Configure(EntityTypeBuilder<UnreadCount> builder)
    {
        builder.ToTable("unread_counts");
        // By user first: a caller's totals and a caller's rows of a chat list are one index range each.
        builder.HasKey(u => new { u.UserId, u.ChannelId });
        builder.Property(u => u.UserId).HasMaxLength(CallerIds.MaxIdLength);
        builder.Property(u => u.ChannelId).HasMaxLength(64);
        builder.HasIndex(u => u.ChannelId);
    }
}

/// <summary>
/// A message counted in its member's <see cref="UnreadCount"/> since their last read (or Stream's last report): so a
/// webhook that arrives again (redelivered, replayed under another id, found again by the catch-up pass) is counted once,
/// one that arrives after a later message's is still counted, and a deletion takes exactly that message out. Gone
/// once read. Written only by <see cref="UnreadCounts"/>.
/// </summary>
internal sealed class UnreadMessage
{
    public required string UserId { get; init; }

    public required string ChannelId { get; init; }

    public required string MessageId { get; init; }

    /// <summary>
    /// When it was sent (Stream's <c>created_at</c>), compared with a read's time to the tick: a message sent in the
    /// millisecond of a read, but after it, stays unread.
    /// </summary>
    [KeptToTheTick]
    public DateTimeOffset SentAt { get; init; }
}

internal sealed class UnreadMessageConfiguration : IEntityTypeConfiguration<UnreadMessage>
{
    public void Configure(EntityTypeBuilder<UnreadMessage> builder)
    {
        builder.ToTable("unread_messages");
        builder.HasKey(u => new { u.UserId, u.ChannelId, u.MessageId });
        builder.Property(u => u.UserId).HasMaxLength(CallerIds.MaxIdLength);
        builder.Property(u => u.ChannelId).HasMaxLength(64);
        builder.Property(u => u.MessageId).HasMaxLength(255);
        builder.HasIndex(u => new { u.ChannelId, u.MessageId });
    }
}

/// <summary>Where unread counts are kept.</summary>
internal static class UnreadModel
{
    extension(ChatDbContext db)
    {
        public DbSet<UnreadCount> UnreadCounts => db.Set<UnreadCount>();

        public DbSet<UnreadMessage> UnreadMessages => db.Set<UnreadMessage>();
    }
}
