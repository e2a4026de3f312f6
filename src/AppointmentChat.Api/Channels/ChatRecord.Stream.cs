using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Channels;

/// <summary>The chat's record, as Stream's webhooks report it: the channel's state and its last message.</summary>
internal sealed partial class ChatRecord
{

    /// <summary>Whether a chat has this channel.</summary>
    public Task<bool> HasChannelAsync(string channelId, CancellationToken cancellationToken) =>
        db.Chats.AnyAsync(a => a.ChannelId == channelId, cancellationToken);

    /// <summary>
    /// Stream's frozen flag and status as of <paramref name="updatedAt"/>, unless a newer report was recorded: "ended"
    /// ends the chat (by Stream, if nobody had); another status is taken, except that an ended chat stays ended; an
    /// unknown one changes the status not at all. Work the scheduler has due is left due: it may be re-applying an end
    /// after a write that undid it.
    /// </summary>
    public async Task RecordStreamUpdateAsync(string channelId, bool frozen, string? status, DateTimeOffset updatedAt, CancellationToken cancellationToken)
    {
        var newer = db.Chats.Where(a => a.ChannelId == channelId && (a.ChannelUpdatedAt == null || a.ChannelUpdatedAt <= updatedAt));
        if (status == Infrastructure.EnumNames<ChatStatus>.ToName(ChatStatus.Ended))
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.Frozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt)
                .SetProperty(a => a.Status, ChatStatus.Ended)
                .SetProperty(a => a.EndedAt, a => a.EndedAt ?? updatedAt)
                .SetProperty(a => a.EndedBy, a => a.EndedBy ?? EndedByStream), cancellationToken);
        }
        else if (Infrastructure.EnumNames<ChatStatus>.TryParse(status, out var parsed))
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.Frozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt)
                .SetProperty(a => a.Status, a => a.Status == ChatStatus.Ended ? ChatStatus.Ended : parsed), cancellationToken);
        }
        else
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.Frozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt), cancellationToken);
        }
    }

    /// <summary>Stream deleted the channel: the chat has ended (by Stream, if nobody had), with nothing left to do. False for an unknown channel.</summary>
    public async Task<bool> RecordDeletedInStreamAsync(string channelId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Chats.Where(a => a.ChannelId == channelId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.Status, ChatStatus.Ended)
            .SetProperty(a => a.Frozen, true)
            .SetProperty(a => a.ChannelDeletedAt, at)
            .SetProperty(a => a.EndedAt, a => a.EndedAt ?? at)
            .SetProperty(a => a.EndedBy, a => a.EndedBy ?? EndedByStream)
            .SetProperty(a => a.SyncDue, (DateTimeOffset?)null), cancellationToken) > 0;

    /// <summary>A message changed or was deleted: the chat list's preview follows, if it is the chat's last message.</summary>
    public async Task<bool> RecordMessageChangedAsync(string channelId, string messageId, string preview, CancellationToken cancellationToken) =>
        await db.Chats
            .Where(a => a.ChannelId == channelId && a.LastMessageId == messageId)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.LastMessageText, preview), cancellationToken) > 0;

    /// <summary>A chat's last message, unless the stored one is newer: deliveries can come out of order.</summary>
    public Task RecordLastMessageAsync(LastMessage last, CancellationToken cancellationToken) =>
        db.Chats
            .Where(a => a.ChannelId == last.ChannelId && (a.LastMessageAt == null || a.LastMessageAt <= last.At))
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.LastMessageId, last.MessageId)
                .SetProperty(a => a.LastMessageText, last.Preview)
                .SetProperty(a => a.LastMessageAt, last.At)
                .SetProperty(a => a.LastActivityAt, a => a.LastActivityAt > last.At ? a.LastActivityAt : last.At), cancellationToken);

    /// <summary>
    /// Sets the last message of many chats in one statement (<c>UPDATE … FROM (VALUES …)</c>, which SQLite and
    /// PostgreSQL both speak). A chat whose stored last message is newer keeps it: deliveries can come out of order.
    /// </summary>
    public async Task RecordLastMessagesAsync(IReadOnlyCollection<LastMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }

        var values = new System.Text.StringBuilder();
        var parameters = new List<object?>(messages.Count * 5);
        foreach (var m in messages)
        {
            var n = parameters.Count;
            values.Append(values.Length == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{n}}}, {{{n + 1}}}, {{{n + 2}}}, {{{n + 3}}}, {{{n + 4}}})");
            // The time twice, as each column stores it: on SQLite the last message's to the tick, activity's to the millisecond.
            parameters.AddRange([m.ChannelId, m.MessageId, m.Preview, db.Stored<Chat>(nameof(Chat.LastMessageAt), m.At), db.Stored<Chat>(nameof(Chat.LastActivityAt), m.At)]);
        }

        // VALUES columns are column1… on both databases.
        var sql = $"""
            UPDATE appointments SET
                "LastMessageId" = v.column2,
                "LastMessageText" = v.column3,
                "LastMessageAt" = v.column4,
                "LastActivityAt" = CASE WHEN appointments."LastActivityAt" > v.column5 THEN appointments."LastActivityAt" ELSE v.column5 END
            FROM (VALUES {values}) AS v
            WHERE appointments."ChannelId" = v.column1
              AND (appointments."LastMessageAt" IS NULL OR appointments."LastMessageAt" <= v.column4)
            """;
        await db.Database.ExecuteSqlRawAsync(sql, parameters!, cancellationToken);
    }
}
