using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Query;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// The chat's record: its status, what Stream has (channel, members, frozen), its schedule (when the scheduler must
/// next look at it) and its lease. The only code that writes them, each write one conditional statement named for
/// what it records, so concurrent writers (requests, the scheduler on several instances, Stream's webhooks) never
/// undo each other: a write whose condition no longer holds changes nothing and says so. The one exception rides on
/// the appointment's own save (<see cref="FactsChanged"/>), whose version check guards it the same way.
/// </summary>
internal sealed class ChatRecord(ChatDbContext db)
{
    /// <summary>Who ended a chat that Stream reports ended (or deleted) before the service recorded an end.</summary>
    public const string EndedByStream = "stream";

    private IQueryable<Appointment> Chat(string appointmentId) => db.Appointments.Where(a => a.Id == appointmentId);

    /// <summary>The appointment and its chat as they are now, untracked; null if there is no such appointment.</summary>
    public Task<Appointment?> ReadAsync(string appointmentId, CancellationToken cancellationToken) =>
        Chat(appointmentId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// The PMS changed the facts of <paramref name="appointment"/> (tracked, saved by the caller with its version check):
    /// a chat that exists and has not ended is due at once, and ends if <paramref name="endsChat"/>.
    /// </summary>
    public static void FactsChanged(Appointment appointment, bool endsChat, string changedBy, DateTimeOffset now)
    {
        if (appointment.ChannelId is null || appointment.ChatStatus == ChatStatus.Ended)
        {
            return;
        }

        if (appointment.ChatEndedAt is null && endsChat)
        {
            appointment.ChatEndedAt = now;
            appointment.ChatEndedBy = changedBy;
        }

        appointment.ChatSyncDue = now;
        appointment.ChatSyncAttempts = 0;
    }

    /// <summary>
    /// Before a creation's Stream calls: should Stream create the channel but nobody record it, the scheduler finds the
    /// chat due at <paramref name="repairAt"/> and adopts what Stream has. False when an earlier due time stands.
    /// </summary>
    public async Task<bool> ExpectCreationAsync(string appointmentId, DateTimeOffset repairAt, CancellationToken cancellationToken) =>
        await Chat(appointmentId)
            .Where(a => a.ChannelId == null && (a.ChatSyncDue == null || a.ChatSyncDue > repairAt))
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.ChatSyncDue, repairAt), cancellationToken) == 1;

    /// <summary>The channel exists in Stream as this request made it; false if another recorded it first or the appointment changed.</summary>
    public async Task<bool> RecordCreatedAsync(
        string appointmentId, int version, string channelId, ChatStatus status, (string? PetOwner, string? Vet) members, DateTimeOffset now, DateTimeOffset? due,
        CancellationToken cancellationToken) =>
        await Chat(appointmentId)
            .Where(a => a.ChannelId == null && a.Version == version)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChannelId, channelId)
                .SetProperty(a => a.ChatStatus, status)
                .SetProperty(a => a.ChatCreatedAt, now)
                .SetProperty(a => a.ChatFrozen, status != ChatStatus.Active)
                .SetProperty(a => a.ChannelPetOwnerId, members.PetOwner)
                .SetProperty(a => a.ChannelVetId, members.Vet)
                .SetProperty(a => a.LastActivityAt, now)
                .SetProperty(a => a.ChatSyncDue, due)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>
    /// A creation begun and never recorded, found in Stream: recorded as Stream has it, due at once so the scheduler
    /// brings it in line. False if it was recorded meanwhile.
    /// </summary>
    public async Task<bool> AdoptAsync(
        string appointmentId, string channelId, ChatStatus status, bool frozen, (string? PetOwner, string? Vet) members, DateTimeOffset now,
        CancellationToken cancellationToken) =>
        await Chat(appointmentId)
            .Where(a => a.ChannelId == null)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChannelId, channelId)
                .SetProperty(a => a.ChatStatus, status)
                .SetProperty(a => a.ChatCreatedAt, now)
                .SetProperty(a => a.ChatFrozen, frozen)
                .SetProperty(a => a.ChannelPetOwnerId, members.PetOwner)
                .SetProperty(a => a.ChannelVetId, members.Vet)
                .SetProperty(a => a.LastActivityAt, now)
                .SetProperty(a => a.ChatSyncDue, now)
                .SetProperty(a => a.ChatSyncAttempts, 0)
                .Released()
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>A creation begun and never recorded, and Stream has no channel: nothing to repair, nothing due.</summary>
    public Task ForgetCreationAsync(string appointmentId, CancellationToken cancellationToken) =>
        Chat(appointmentId)
            .Where(a => a.ChannelId == null)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.ChatSyncDue, (DateTimeOffset?)null).Released(), cancellationToken);

    /// <summary>
    /// The decision to end (when, by whom) before Stream hears of it, with a safety net: should Stream fail, the scheduler
    /// finishes the job at <paramref name="safetyNet"/>. The version moves, so a scheduler pass that read the chat before
    /// cannot record over the decision. False when the chat had already ended.
    /// </summary>
    public async Task<bool> DecideEndAsync(string appointmentId, DateTimeOffset decidedAt, string endedBy, DateTimeOffset safetyNet, CancellationToken cancellationToken) =>
        await Chat(appointmentId)
            .Where(a => a.ChatStatus != ChatStatus.Ended)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? decidedAt)
                .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? endedBy)
                .SetProperty(a => a.ChatSyncDue, safetyNet)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>
    /// Stream has the end. The due time this end answered for (<paramref name="handledDue"/>) is cleared; a newer one is
    /// left for the scheduler. True when this call recorded the end.
    /// </summary>
    public async Task<bool> RecordEndedAsync(string appointmentId, DateTimeOffset decidedAt, string endedBy, DateTimeOffset? handledDue, CancellationToken cancellationToken) =>
        await Chat(appointmentId)
            .Where(a => a.ChatStatus != ChatStatus.Ended || a.ChatSyncDue != null)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatStatus, ChatStatus.Ended)
                .SetProperty(a => a.ChatFrozen, true)
                .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? decidedAt)
                .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? endedBy)
                .SetProperty(a => a.ChatSyncDue, a => a.ChatSyncDue == handledDue ? null : a.ChatSyncDue)
                .SetProperty(a => a.ChatSyncAttempts, 0)
                .SetProperty(a => a.ChatSyncError, (string?)null)
                .SetProperty(a => a.ChatLeaseUntil, (DateTimeOffset?)null)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>
    /// Stream is in line with the appointment as read at <paramref name="version"/>: recorded, due at the window's next
    /// edge. False if the appointment changed meanwhile (the caller then has it looked at again).
    /// </summary>
    public async Task<bool> RecordInLineAsync(
        string appointmentId, int version, ChatStatus status, (string PetOwner, string Vet) members, DateTimeOffset? nextEdge, CancellationToken cancellationToken) =>
        await Chat(appointmentId)
            .Where(a => a.Version == version)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatStatus, status)
                .SetProperty(a => a.ChatFrozen, status != ChatStatus.Active)
                .SetProperty(a => a.ChannelPetOwnerId, members.PetOwner)
                .SetProperty(a => a.ChannelVetId, members.Vet)
                .SetProperty(a => a.ChatSyncDue, nextEdge)
                .SetProperty(a => a.ChatSyncAttempts, 0)
                .SetProperty(a => a.ChatSyncError, (string?)null)
                .Released()
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>The channel's members as Stream has them, whatever else happens to the appointment.</summary>
    public Task RecordMembersAsync(string appointmentId, (string? PetOwner, string? Vet) members, CancellationToken cancellationToken) =>
        Chat(appointmentId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.ChannelPetOwnerId, members.PetOwner)
            .SetProperty(a => a.ChannelVetId, members.Vet), cancellationToken);

    /// <summary>Gives the chat back (the lease ends) with its next due time: <paramref name="due"/>, or none.</summary>
    public Task ReleaseAsync(string appointmentId, DateTimeOffset? due, CancellationToken cancellationToken) =>
        Chat(appointmentId).ExecuteUpdateAsync(set => set.SetProperty(a => a.ChatSyncDue, due).Released(), cancellationToken);

    /// <summary>Gives the chat back, clearing the due time this pass answered for; a newer one stays.</summary>
    public Task ReleaseHandledAsync(string appointmentId, DateTimeOffset? handledDue, CancellationToken cancellationToken) =>
        Chat(appointmentId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.ChatSyncDue, a => a.ChatSyncDue == handledDue ? null : a.ChatSyncDue)
            .Released(), cancellationToken);

    /// <summary>A pass that failed: counted, with why, and due again at <paramref name="retryAt"/>; the lease ends.</summary>
    public Task RecordFailureAsync(string appointmentId, int attempts, string error, DateTimeOffset retryAt, CancellationToken cancellationToken) =>
        Chat(appointmentId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.ChatSyncDue, retryAt)
            .SetProperty(a => a.ChatSyncAttempts, attempts)
            .SetProperty(a => a.ChatSyncError, error)
            .Released(), cancellationToken);

    // ---- what Stream reports (webhooks) ----

    /// <summary>Whether a chat has this channel.</summary>
    public Task<bool> HasChannelAsync(string channelId, CancellationToken cancellationToken) =>
        db.Appointments.AnyAsync(a => a.ChannelId == channelId, cancellationToken);

    /// <summary>
    /// Stream's frozen flag and status as of <paramref name="updatedAt"/>, unless a newer report was recorded: "ended"
    /// ends the chat (by Stream, if nobody had); another status is taken, except that an ended chat stays ended; an
    /// unknown one changes the status not at all. Work the scheduler has due is left due: it may be re-applying an end
    /// after a write that undid it.
    /// </summary>
    public async Task RecordStreamUpdateAsync(string channelId, bool frozen, string? status, DateTimeOffset updatedAt, CancellationToken cancellationToken)
    {
        var newer = db.Appointments.Where(a => a.ChannelId == channelId && (a.ChannelUpdatedAt == null || a.ChannelUpdatedAt <= updatedAt));
        if (status == Infrastructure.EnumNames<ChatStatus>.ToName(ChatStatus.Ended))
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatFrozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt)
                .SetProperty(a => a.ChatStatus, ChatStatus.Ended)
                .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? updatedAt)
                .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? EndedByStream), cancellationToken);
        }
        else if (Infrastructure.EnumNames<ChatStatus>.TryParse(status, out var parsed))
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatFrozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt)
                .SetProperty(a => a.ChatStatus, a => a.ChatStatus == ChatStatus.Ended ? ChatStatus.Ended : parsed), cancellationToken);
        }
        else
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatFrozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt), cancellationToken);
        }
    }

    /// <summary>Stream deleted the channel: the chat has ended (by Stream, if nobody had), with nothing left to do. False for an unknown channel.</summary>
    public async Task<bool> RecordDeletedInStreamAsync(string channelId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.Appointments.Where(a => a.ChannelId == channelId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.ChatStatus, ChatStatus.Ended)
            .SetProperty(a => a.ChatFrozen, true)
            .SetProperty(a => a.ChannelDeletedAt, at)
            .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? at)
            .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? EndedByStream)
            .SetProperty(a => a.ChatSyncDue, (DateTimeOffset?)null), cancellationToken) > 0;

    /// <summary>A message changed or was deleted: the chat list's preview follows, if it is the chat's last message.</summary>
    public async Task<bool> RecordMessageChangedAsync(string channelId, string messageId, string preview, CancellationToken cancellationToken) =>
        await db.Appointments
            .Where(a => a.ChannelId == channelId && a.LastMessageId == messageId)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.LastMessageText, preview), cancellationToken) > 0;

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
        var parameters = new List<object?>(messages.Count * 4);
        foreach (var m in messages)
        {
            var n = parameters.Count;
            values.Append(values.Length == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{n}}}, {{{n + 1}}}, {{{n + 2}}}, {{{n + 3}}})");
            parameters.AddRange([m.ChannelId, m.MessageId, m.Preview, db.Stored<Appointments.Appointment>(nameof(Appointments.Appointment.LastMessageAt), m.At)]);
        }

        // VALUES columns are column1… on both databases.
        var sql = $"""
            UPDATE appointments SET
                "LastMessageId" = v.column2,
                "LastMessageText" = v.column3,
                "LastMessageAt" = v.column4,
                "LastActivityAt" = CASE WHEN appointments."LastActivityAt" > v.column4 THEN appointments."LastActivityAt" ELSE v.column4 END
            FROM (VALUES {values}) AS v
            WHERE appointments."ChannelId" = v.column1
              AND (appointments."LastMessageAt" IS NULL OR appointments."LastMessageAt" <= v.column4)
            """;
        await db.Database.ExecuteSqlRawAsync(sql, parameters!, cancellationToken);
    }

    /// <summary>How many passes in a row have failed.</summary>
    public Task<int> FailedAttemptsAsync(string appointmentId, CancellationToken cancellationToken) =>
        Chat(appointmentId).Select(a => a.ChatSyncAttempts).FirstOrDefaultAsync(cancellationToken);

    /// <summary>When the next chat nobody holds is due; null when none is.</summary>
    public Task<DateTimeOffset?> NextDueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        db.Appointments
            .Where(a => a.ChatSyncDue != null && (a.ChatLeaseUntil == null || a.ChatLeaseUntil < now))
            .MinAsync(a => a.ChatSyncDue, cancellationToken);
}

internal static class ChatLease
{
    /// <summary>The lease ends: another pass, on any instance, may take the chat.</summary>
    public static UpdateSettersBuilder<Appointment> Released(this UpdateSettersBuilder<Appointment> set) => set
        .SetProperty(a => a.ChatLeaseUntil, (DateTimeOffset?)null)
        .SetProperty(a => a.ChatLeaseOwner, (string?)null);
}
