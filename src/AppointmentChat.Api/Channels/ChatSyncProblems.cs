using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// Chats the scheduler keeps failing to bring in line with Stream (a sync error, still retried with backoff), for
/// operators: listed, retried at once, or given up on. The writes are <see cref="ChatRecord"/>'s.
/// </summary>
internal sealed class ChatSyncProblems(ChatDbContext db, ChatRecord record, ChatSchedulerSignal scheduler, TimeProvider time)
{
    public Task<List<ChatSyncProblem>> ListAsync(int take, CancellationToken cancellationToken) =>
        Project(db.Chats.Where(c => c.SyncError != null && c.SyncDue != null).OrderBy(c => c.SyncDue).ThenBy(c => c.AppointmentId).Take(take))
            .ToListAsync(cancellationToken);

    /// <summary>Due at once; the chat as it now is, or why not.</summary>
    public async Task<(ChatSyncProblem? Chat, bool Busy)> RetryAsync(string appointmentId, CancellationToken cancellationToken)
    {
        if (!await record.RetrySyncAsync(appointmentId, time.GetUtcNow(), cancellationToken))
        {
            return (null, await IsBusyAsync(appointmentId, discarding: false, cancellationToken));
        }

        scheduler.Wake();
        return (await FindAsync(appointmentId, cancellationToken), false);
    }

    /// <summary>No longer retried; the chat as it now is, or why not.</summary>
    public async Task<(ChatSyncProblem? Chat, bool Busy)> DiscardAsync(string appointmentId, CancellationToken cancellationToken) =>
        await record.DiscardSyncAsync(appointmentId, time.GetUtcNow(), cancellationToken)
            ? (await FindAsync(appointmentId, cancellationToken), false)
            : (null, await IsBusyAsync(appointmentId, discarding: true, cancellationToken));

    /// <summary>The chat has the problem, but a scheduler pass holds it right now.</summary>
    private Task<bool> IsBusyAsync(string appointmentId, bool discarding, CancellationToken cancellationToken) =>
        db.Chats.AnyAsync(c => c.AppointmentId == appointmentId && c.SyncError != null && (!discarding || c.SyncDue != null) && c.LeaseUntil >= time.GetUtcNow(), cancellationToken);

    private Task<ChatSyncProblem?> FindAsync(string appointmentId, CancellationToken cancellationToken) =>
        Project(db.Chats.Where(c => c.AppointmentId == appointmentId)).FirstOrDefaultAsync(cancellationToken);

    private static IQueryable<ChatSyncProblem> Project(IQueryable<Chat> chats) =>
        chats.AsNoTracking().Select(c => new ChatSyncProblem(
            c.AppointmentId, c.ChannelId, c.Appointment.OrganisationId, c.SyncAttempts, c.SyncError, c.SyncDue));
}

/// <summary>A chat the scheduler failed to bring in line: its appointment, channel, organisation, attempts, last error, and when it is tried next (none once discarded).</summary>
internal sealed record ChatSyncProblem(string AppointmentId, string? ChannelId, string OrganisationId, int Attempts, string? Error, DateTimeOffset? RetryAt);
