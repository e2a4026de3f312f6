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
/// the appointment's own save (<see cref="FactsChangedAsync"/>), whose version check guards it the same way.
/// </summary>
internal sealed partial class ChatRecord(ChatDbContext db)
{
    /// <summary>Who ended a chat that Stream reports ended (or deleted) before the service recorded an end.</summary>
    public const string EndedByStream = "stream";

    private IQueryable<Chat> Of(string appointmentId) => db.Chats.Where(a => a.AppointmentId == appointmentId);

    /// <summary>The chat and its appointment as they are now, untracked; null if there is no such appointment.</summary>
    public Task<Chat?> ReadAsync(string appointmentId, CancellationToken cancellationToken) =>
        Of(appointmentId).Include(c => c.Appointment).AsNoTracking().FirstOrDefaultAsync(cancellationToken);

    /// <summary>The chat of the appointment whose channel this is, with its appointment, untracked; null for an unknown channel.</summary>
    public Task<Chat?> ReadByChannelAsync(string channelId, CancellationToken cancellationToken) =>
        db.Chats.Where(c => c.ChannelId == channelId).Include(c => c.Appointment).AsNoTracking().FirstOrDefaultAsync(cancellationToken);

    /// <summary>The chat as the appointment shows it; null if there is no such appointment.</summary>
    public Task<AppointmentChatState?> StateAsync(string appointmentId, CancellationToken cancellationToken) =>
        Of(appointmentId).Select(c => new AppointmentChatState(c.ChannelId, c.Status, c.EndedAt, c.EndedBy)).FirstOrDefaultAsync(cancellationToken)!;

    /// <summary>
    /// The PMS changed the facts of <paramref name="appointment"/> (tracked, its version moved; saved by the caller with its
    /// version check, and the chat with it): a chat that exists and has not ended is due at once, and ends if
    /// <paramref name="endsChat"/>. True when it is due.
    /// </summary>
    public async Task<bool> FactsChangedAsync(Appointment appointment, bool endsChat, string changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var chat = await Of(appointment.Id).FirstOrDefaultAsync(cancellationToken);
        if (chat is not null && chat.Version != db.Entry(appointment).Property(a => a.Version).OriginalValue)
        {
            // The row changed since the appointment was read (the scheduler, a webhook): the caller reads it again.
            throw new DbUpdateConcurrencyException("The appointment's row changed since it was read.");
        }

        if (chat is null || chat.ChannelId is null || chat.Status == ChatStatus.Ended)
        {
            return false;
        }

        if (chat.EndedAt is null && endsChat)
        {
            chat.EndedAt = now;
            chat.EndedBy = changedBy;
        }

        chat.SyncDue = now;
        chat.SyncAttempts = 0;
        chat.Version = appointment.Version; // one row, one version: the save writes it once
        return true;
    }

    /// <summary>
    /// Before a creation's Stream calls: should Stream create the channel but nobody record it, the scheduler finds the
    /// chat due at <paramref name="repairAt"/> and adopts what Stream has. False when an earlier due time stands.
    /// </summary>
    public async Task<bool> ExpectCreationAsync(string appointmentId, DateTimeOffset repairAt, CancellationToken cancellationToken) =>
        await Of(appointmentId)
            .Where(a => a.ChannelId == null && (a.SyncDue == null || a.SyncDue > repairAt))
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.SyncDue, repairAt), cancellationToken) == 1;

    /// <summary>The channel exists in Stream as this request made it; false if another recorded it first or the appointment changed.</summary>
    public async Task<bool> RecordCreatedAsync(
        string appointmentId, int version, string channelId, ChatStatus status, (string? PetOwner, string? Vet) members, DateTimeOffset now, DateTimeOffset? due,
        CancellationToken cancellationToken) =>
        await Of(appointmentId)
            .Where(a => a.ChannelId == null && a.Version == version)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChannelId, channelId)
                .SetProperty(a => a.Status, status)
                .SetProperty(a => a.CreatedAt, now)
                .SetProperty(a => a.Frozen, status != ChatStatus.Active)
                .SetProperty(a => a.ChannelPetOwnerId, members.PetOwner)
                .SetProperty(a => a.ChannelVetId, members.Vet)
                .SetProperty(a => a.LastActivityAt, now)
                .SetProperty(a => a.SyncDue, due)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>
    /// A creation begun and never recorded, found in Stream: recorded as Stream has it, due at once so the scheduler
    /// brings it in line. False if it was recorded meanwhile.
    /// </summary>
    public async Task<bool> AdoptAsync(
        string appointmentId, string channelId, ChatStatus status, bool frozen, (string? PetOwner, string? Vet) members, DateTimeOffset now,
        CancellationToken cancellationToken) =>
        await Of(appointmentId)
            .Where(a => a.ChannelId == null)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChannelId, channelId)
                .SetProperty(a => a.Status, status)
                .SetProperty(a => a.CreatedAt, now)
                .SetProperty(a => a.Frozen, frozen)
                .SetProperty(a => a.ChannelPetOwnerId, members.PetOwner)
                .SetProperty(a => a.ChannelVetId, members.Vet)
                .SetProperty(a => a.LastActivityAt, now)
                .SetProperty(a => a.SyncDue, now)
                .SetProperty(a => a.SyncAttempts, 0)
                .Released()
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>A creation begun and never recorded, and Stream has no channel: nothing to repair, nothing due.</summary>
    public Task ForgetCreationAsync(string appointmentId, CancellationToken cancellationToken) =>
        Of(appointmentId)
            .Where(a => a.ChannelId == null)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.SyncDue, (DateTimeOffset?)null).Released(), cancellationToken);

    /// <summary>
    /// The decision to end (when, by whom) before Stream hears of it, with a safety net: should Stream fail, the scheduler
    /// finishes the job at <paramref name="safetyNet"/>. The version moves, so a scheduler pass that read the chat before
    /// cannot record over the decision. False when the chat had already ended.
    /// </summary>
    public async Task<bool> DecideEndAsync(string appointmentId, DateTimeOffset decidedAt, string endedBy, DateTimeOffset safetyNet, CancellationToken cancellationToken) =>
        await Of(appointmentId)
            .Where(a => a.Status != ChatStatus.Ended)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.EndedAt, a => a.EndedAt ?? decidedAt)
                .SetProperty(a => a.EndedBy, a => a.EndedBy ?? endedBy)
                .SetProperty(a => a.SyncDue, safetyNet)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>
    /// Stream has the end. The due time this end answered for (<paramref name="handledDue"/>) is cleared; a newer one is
    /// left for the scheduler. True when this call recorded the end.
    /// </summary>
    public async Task<bool> RecordEndedAsync(string appointmentId, DateTimeOffset decidedAt, string endedBy, DateTimeOffset? handledDue, CancellationToken cancellationToken) =>
        await Of(appointmentId)
            .Where(a => a.Status != ChatStatus.Ended || a.SyncDue != null)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.Status, ChatStatus.Ended)
                .SetProperty(a => a.Frozen, true)
                .SetProperty(a => a.EndedAt, a => a.EndedAt ?? decidedAt)
                .SetProperty(a => a.EndedBy, a => a.EndedBy ?? endedBy)
                .SetProperty(a => a.SyncDue, a => a.SyncDue == handledDue ? null : a.SyncDue)
                .SetProperty(a => a.SyncAttempts, 0)
                .SetProperty(a => a.SyncError, (string?)null)
                .SetProperty(a => a.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>
    /// Stream is in line with the appointment as read at <paramref name="version"/>: recorded, due at the window's next
    /// edge. False if the appointment changed meanwhile (the caller then has it looked at again).
    /// </summary>
    public async Task<bool> RecordInLineAsync(
        string appointmentId, int version, ChatStatus status, (string PetOwner, string Vet) members, DateTimeOffset? nextEdge, CancellationToken cancellationToken) =>
        await Of(appointmentId)
            .Where(a => a.Version == version)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.Status, status)
                .SetProperty(a => a.Frozen, status != ChatStatus.Active)
                .SetProperty(a => a.ChannelPetOwnerId, members.PetOwner)
                .SetProperty(a => a.ChannelVetId, members.Vet)
                .SetProperty(a => a.SyncDue, nextEdge)
                .SetProperty(a => a.SyncAttempts, 0)
                .SetProperty(a => a.SyncError, (string?)null)
                .Released()
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken) == 1;

    /// <summary>The channel's members as Stream has them, whatever else happens to the appointment.</summary>
    public Task RecordMembersAsync(string appointmentId, (string? PetOwner, string? Vet) members, CancellationToken cancellationToken) =>
        Of(appointmentId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.ChannelPetOwnerId, members.PetOwner)
            .SetProperty(a => a.ChannelVetId, members.Vet), cancellationToken);

    /// <summary>Gives the chat back (the lease ends) with its next due time: <paramref name="due"/>, or none.</summary>
    public Task ReleaseAsync(string appointmentId, DateTimeOffset? due, CancellationToken cancellationToken) =>
        Of(appointmentId).ExecuteUpdateAsync(set => set.SetProperty(a => a.SyncDue, due).Released(), cancellationToken);

    /// <summary>Gives the chat back, clearing the due time this pass answered for; a newer one stays.</summary>
    public Task ReleaseHandledAsync(string appointmentId, DateTimeOffset? handledDue, CancellationToken cancellationToken) =>
        Of(appointmentId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.SyncDue, a => a.SyncDue == handledDue ? null : a.SyncDue)
            .Released(), cancellationToken);

    /// <summary>A pass that failed: counted, with why, and due again at <paramref name="retryAt"/>; the lease ends.</summary>
    public Task RecordFailureAsync(string appointmentId, int attempts, string error, DateTimeOffset retryAt, CancellationToken cancellationToken) =>
        Of(appointmentId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.SyncDue, retryAt)
            .SetProperty(a => a.SyncAttempts, attempts)
            .SetProperty(a => a.SyncError, error)
            .Released(), cancellationToken);

    /// <summary>How many passes in a row have failed.</summary>
    public Task<int> FailedAttemptsAsync(string appointmentId, CancellationToken cancellationToken) =>
        Of(appointmentId).Select(a => a.SyncAttempts).FirstOrDefaultAsync(cancellationToken);

    /// <summary>When the next chat nobody holds is due; null when none is.</summary>
    public Task<DateTimeOffset?> NextDueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        db.Chats
            .Where(a => a.SyncDue != null && (a.LeaseUntil == null || a.LeaseUntil < now))
            .MinAsync(a => a.SyncDue, cancellationToken);
}

internal static class ChatLease
{
    /// <summary>The lease ends: another pass, on any instance, may take the chat.</summary>
    public static UpdateSettersBuilder<Chat> Released(this UpdateSettersBuilder<Chat> set) => set
        .SetProperty(a => a.LeaseUntil, (DateTimeOffset?)null)
        .SetProperty(a => a.LeaseOwner, (string?)null);
}
