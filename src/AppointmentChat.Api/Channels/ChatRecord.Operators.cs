using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Channels;

/// <summary>The chat's record, as operators act on a chat the scheduler keeps failing to bring in line with Stream.</summary>
internal sealed partial class ChatRecord
{
    /// <summary>A chat with a sync error that no pass holds now (a pass under way decides for itself).</summary>
    private IQueryable<Chat> FailedAndFree(string appointmentId, DateTimeOffset now) =>
        Of(appointmentId).Where(a => a.SyncError != null && (a.LeaseUntil == null || a.LeaseUntil < now));

    /// <summary>
    /// The backoff is cleared: due at once, attempts counted afresh; the error stays until a pass succeeds. Works on a
    /// discarded one too. False when the chat has no sync error, or a pass holds it.
    /// </summary>
    public async Task<bool> RetrySyncAsync(string appointmentId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await FailedAndFree(appointmentId, now).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.SyncDue, now)
            .SetProperty(a => a.SyncAttempts, 0), cancellationToken) == 1;

    /// <summary>
    /// The scheduler stops retrying: nothing is due, the error and attempts stay as the record of what failed. The chat
    /// stays as Stream has it until the appointment changes, it is ended, or an operator retries it. False when the chat
    /// has no sync error being retried, or a pass holds it.
    /// </summary>
    public async Task<bool> DiscardSyncAsync(string appointmentId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await FailedAndFree(appointmentId, now).Where(a => a.SyncDue != null).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.SyncDue, (DateTimeOffset?)null), cancellationToken) == 1;
}
