using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Unread;

/// <summary>
/// Every write to the unread counts: a new message counts for its recipients, a read clears a member's count, a mark
/// unread sets it, a deletion takes an unread message back out, and Stream's own read state repairs it. The changes are
/// made on tracked rows, saved with the caller's unit of work (the webhook processor's transaction, the catch-up pass's
/// save), so a batch that rolls back leaves no count behind.
/// </summary>
internal sealed class UnreadCounts(ChatDbContext db)
{
    /// <summary>
    /// A message sent at <paramref name="sentAt"/> is unread for each of <paramref name="recipients"/>. Counted once per
    /// member, by its id (<see cref="UnreadMessage"/>); not at all when a read or Stream's report already accounts for
    /// its time (<see cref="UnreadCount.Through"/>). Stream does not deliver webhooks in order: a message whose webhook
    /// comes after a later message's is counted like any other.
    /// </summary>
    public async Task MessageSentAsync(string channelId, string messageId, IEnumerable<string> recipients, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        foreach (var userId in recipients)
        {
            var row = await RowAsync(userId, channelId, cancellationToken);
            if (row.Through >= Ticks(sentAt) || await db.UnreadMessages.FindAsync([userId, channelId, messageId], cancellationToken) is not null)
            {
                continue;
            }

            db.UnreadMessages.Add(new UnreadMessage { UserId = userId, ChannelId = channelId, MessageId = messageId, SentAt = sentAt });
            row.Count++;
            row.Since = row.Since is { } since && since <= sentAt ? since : sentAt;
        }
    }

    /// <summary>
    /// <c>message.read</c>, <c>notification.mark_read</c>: the member has read the chat up to <paramref name="readAt"/>.
    /// Messages sent after it (their webhooks counted before this late read event) stay unread.
    /// </summary>
    public async Task ReadAsync(string channelId, string userId, DateTimeOffset readAt, CancellationToken cancellationToken)
    {
        var row = await RowAsync(userId, channelId, cancellationToken);
        await AccountForAsync(row, 0, null, readAt, cancellationToken);
    }

    /// <summary><c>notification.mark_read</c> for no channel in particular: the member has read every chat.</summary>
    public async Task ReadAllAsync(string userId, DateTimeOffset readAt, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken); // rows added in this unit of work are read back with the others
        foreach (var row in await db.UnreadCounts.Where(u => u.UserId == userId && u.Count > 0).ToListAsync(cancellationToken))
        {
            await AccountForAsync(row, 0, null, readAt, cancellationToken);
        }
    }

    /// <summary>
    /// Up to <paramref name="take"/> chats in which someone has unread messages, by channel id after
    /// <paramref name="after"/>: the catch-up pass checks them against Stream in turn.
    /// </summary>
    public Task<List<string>> ChannelsWithUnreadAsync(string after, int take, CancellationToken cancellationToken) =>
        db.UnreadCounts.AsNoTracking()
            .Where(u => u.Count > 0 && string.Compare(u.ChannelId, after) > 0)
            .Select(u => u.ChannelId).Distinct().OrderBy(id => id).Take(take)
            .ToListAsync(cancellationToken);

    /// <summary>Forgets a member's counts in every chat (an erasure); the number of rows deleted.</summary>
    public async Task<int> ForgetAsync(string userId, CancellationToken cancellationToken)
    {
        await db.UnreadMessages.Where(u => u.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        return await db.UnreadCounts.Where(u => u.UserId == userId).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>
    /// Sets a member's count as Stream reports it (a mark unread, or its channel state) as of <paramref name="through"/>.
    /// A report older than what the count already accounts for is left aside.
    /// </summary>
    public async Task SetAsync(string channelId, string userId, int count, DateTimeOffset? since, DateTimeOffset through, CancellationToken cancellationToken)
    {
        var row = await RowAsync(userId, channelId, cancellationToken);
        if (row.Through > Ticks(through))
        {
            return;
        }

        await AccountForAsync(row, Math.Max(0, count), since, through, cancellationToken);
    }

    /// <summary>
    /// Stream's word on a member's chat up to <paramref name="through"/> (a read: 0 unread; a report: <paramref name="count"/>
    /// since <paramref name="since"/>): the messages counted one by one up to then are in it, those after it are added.
    /// </summary>
    private async Task AccountForAsync(UnreadCount row, int count, DateTimeOffset? since, DateTimeOffset through, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken); // messages counted in this unit of work are read back with the others
        var counted = await db.UnreadMessages.Where(u => u.UserId == row.UserId && u.ChannelId == row.ChannelId).ToListAsync(cancellationToken);
        var covered = counted.Where(m => m.SentAt <= through).ToList();
        db.UnreadMessages.RemoveRange(covered);
        var after = counted.Except(covered).ToList();
        row.Count = count + after.Count;
        row.Since = count > 0 ? since ?? row.Since ?? through : after.Count > 0 ? after.Min(m => m.SentAt) : null;
        row.Through = Math.Max(row.Through, Ticks(through));
    }

    /// <summary>
    /// Message <paramref name="messageId"/>, sent at <paramref name="sentAt"/> by <paramref name="senderId"/>, was
    /// deleted: each other member for whom it was counted unread counts one fewer — found by its id, or, for a count
    /// Stream reported (which holds no ids), when it was sent since their oldest unread and no later than the report.
    /// Which of the latter's unread messages is now the oldest is not known here: <see cref="UnreadCount.Since"/> stays
    /// until the member reads the chat or the catch-up pass repairs it.
    /// </summary>
    public async Task DeletedAsync(string channelId, string messageId, string? senderId, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken); // rows added in this unit of work are read back with the others
        var byId = await db.UnreadMessages.Where(u => u.ChannelId == channelId && u.MessageId == messageId).ToListAsync(cancellationToken);
        db.UnreadMessages.RemoveRange(byId);
        var counted = byId.Select(m => m.UserId).ToHashSet(StringComparer.Ordinal);
        var rows = await db.UnreadCounts.Where(u => u.ChannelId == channelId && u.Count > 0).ToListAsync(cancellationToken);
        foreach (var row in rows.Where(u => counted.Contains(u.UserId) || (u.UserId != senderId && u.Since <= sentAt && u.Through >= Ticks(sentAt))))
        {
            row.Count--;
            row.Since = row.Count > 0 ? row.Since : null;
        }
    }

    /// <summary>A member's row, tracked: the one this unit of work already holds, the stored one, or a new one.</summary>
    private async Task<UnreadCount> RowAsync(string userId, string channelId, CancellationToken cancellationToken)
    {
        if (await db.UnreadCounts.FindAsync([userId, channelId], cancellationToken) is { } row)
        {
            return row;
        }

        return db.UnreadCounts.Add(new UnreadCount { UserId = userId, ChannelId = channelId, Through = 0 }).Entity;
    }

    /// <summary>An instant as <see cref="UnreadCount.Through"/> keeps it: to the tick, which every database keeps exactly.</summary>
    private static long Ticks(DateTimeOffset at) => at.UtcTicks;
}

/// <summary>A caller's totals: every unread message of their chats, and how many chats have any.</summary>
internal sealed record UnreadTotals(int UnreadCount, int UnreadChats);

internal static class UnreadQueries
{
    /// <summary>The totals of one member.</summary>
    public static async Task<UnreadTotals> UnreadTotalsAsync(this ChatDbContext db, string userId, CancellationToken cancellationToken)
    {
        var counts = await db.UnreadCounts.AsNoTracking()
            .Where(u => u.UserId == userId && u.Count > 0)
            .Select(u => u.Count)
            .ToListAsync(cancellationToken);
        return new UnreadTotals(counts.Sum(), counts.Count);
    }

    /// <summary>The total unread messages of each of <paramref name="userIds"/> (none: absent).</summary>
    public static Task<Dictionary<string, int>> UnreadTotalsAsync(this ChatDbContext db, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        db.UnreadCounts.AsNoTracking()
            .Where(u => userIds.Contains(u.UserId) && u.Count > 0)
            .GroupBy(u => u.UserId)
            .Select(g => new { g.Key, Total = g.Sum(u => u.Count) })
            .ToDictionaryAsync(g => g.Key, g => g.Total, StringComparer.Ordinal, cancellationToken);
}
