using System.Globalization;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Stream;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// The chat of an appointment: creating it in Stream, ending it, and bringing Stream in line with the
/// appointment and the clock. Stream is written first and the database second, so a failure leaves
/// nothing half-made: every step is idempotent and the next attempt converges.
/// </summary>
internal sealed partial class AppointmentChats(
    ChatDbContext db,
    StreamChatClient stream,
    TimeProvider time,
    IOptions<ChatOptions> options,
    ChatSchedulerSignal scheduler,
    Operations.ChatMetrics metrics,
    ILogger<AppointmentChats> logger)
{
    /// <summary>When an interrupted end is finished by the scheduler.</summary>
    private static readonly TimeSpan EndRetryDelay = TimeSpan.FromMinutes(1);

    private ChatOptions Options => options.Value;

    /// <summary>
    /// Creates the channel in Stream (users first) and records it, unless another request recorded it
    /// first or the appointment changed meanwhile: then returns false and the caller reads again.
    /// </summary>
    public async Task<bool> CreateAsync(Appointment appointment, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var status = ChatWindow.DesiredStatus(appointment, now, Options);
        var channelId = ChatLimits.ChannelIdFor(appointment.Id);

        await SyncUsersAsync([(appointment.PetOwnerId, appointment.PetOwnerName), (appointment.VetId, appointment.VetName), (Options.SystemUserId, Options.SystemUserName)], cancellationToken);
        string[] members = [appointment.PetOwnerId, appointment.VetId];
        var created = await stream.GetOrCreateChannelAsync(ChatLimits.ChannelType, channelId, appointment.VetId, members, ChannelData(appointment, status), cancellationToken);

        // Get-or-create keeps a channel that already exists as it is. If Stream lets users create channels, someone
        // could have made this one first, with themselves in it: nobody but the two people may stay, and the
        // channel's data is replaced with the appointment's, before the chat is handed out.
        var present = created.Members?.Select(m => m.UserId).ToList() ?? [];
        var strangers = present.Except(members).ToList();
        if (strangers.Count > 0)
        {
            LogStrangersRemoved(logger, channelId, strangers.Count);
            await stream.UpdateMembersAsync(ChatLimits.ChannelType, channelId, [.. members.Except(present)], strangers, cancellationToken);
            await stream.UpdateChannelAsync(ChatLimits.ChannelType, channelId, ChannelData(appointment, status), cancellationToken);
        }

        // A channel left by an earlier, interrupted attempt may differ: then the scheduler fixes it now.
        var inStep = strangers.Count == 0
            && created.Channel.Frozen == (status != ChatStatus.Active)
            && created.Channel.CustomString("status") == EnumNames(status)
            && (created.Members is null || present.Order().SequenceEqual(members.Order()));
        var due = inStep ? ChatWindow.NextEdge(appointment, status, Options) : now;

        var recorded = await db.Appointments
            .Where(a => a.Id == appointment.Id && a.ChannelId == null && a.Version == appointment.Version)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChannelId, channelId)
                .SetProperty(a => a.ChatStatus, status)
                .SetProperty(a => a.ChatCreatedAt, now)
                .SetProperty(a => a.ChatFrozen, status != ChatStatus.Active)
                .SetProperty(a => a.ChannelPetOwnerId, appointment.PetOwnerId)
                .SetProperty(a => a.ChannelVetId, appointment.VetId)
                .SetProperty(a => a.LastActivityAt, now)
                .SetProperty(a => a.ChatSyncDue, due)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken);
        if (recorded == 1)
        {
            metrics.ChannelsCreated.Add(1);
            LogCreated(logger, channelId, status);
            scheduler.Wake();
        }

        return recorded == 1;
    }

    /// <summary>
    /// Ends the chat. The decision (when, by whom) is recorded first, so Stream's own webhooks about the
    /// change, which may arrive before this finishes, attribute it rightly; and should Stream fail here,
    /// the scheduler finishes the job once it is reachable. Then the end message from the system user (its
    /// own id, so a repeat sends nothing), a partial update <c>status: ended, frozen: true</c> that keeps
    /// every other field, and the record. Ending an ended chat does nothing.
    /// </summary>
    public async Task EndAsync(Appointment appointment, string endedBy, CancellationToken cancellationToken)
    {
        if (appointment.ChatStatus == ChatStatus.Ended || appointment.ChannelId is not { } channelId)
        {
            return;
        }

        var decidedAt = time.GetUtcNow();
        var safetyNet = decidedAt + EndRetryDelay;
        await db.Appointments
            .Where(a => a.Id == appointment.Id && a.ChatStatus != ChatStatus.Ended)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? decidedAt)
                .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? endedBy)
                .SetProperty(a => a.ChatSyncDue, safetyNet), cancellationToken);

        await SyncUsersAsync([(Options.SystemUserId, Options.SystemUserName)], cancellationToken);
        await stream.SendMessageAsync(ChatLimits.ChannelType, channelId, new NewMessage(Options.EndMessage, Options.SystemUserId, Id: channelId + "-ended"), cancellationToken);
        await stream.PartialUpdateChannelAsync(ChatLimits.ChannelType, channelId, new JsonObject { ["status"] = EnumNames(ChatStatus.Ended), ["frozen"] = true }, null, cancellationToken);

        var ended = await db.Appointments
            .Where(a => a.Id == appointment.Id && (a.ChatStatus != ChatStatus.Ended || a.ChatSyncDue != null))
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatStatus, ChatStatus.Ended)
                .SetProperty(a => a.ChatFrozen, true)
                .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? decidedAt)
                .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? endedBy)
                .SetProperty(a => a.ChatSyncDue, (DateTimeOffset?)null)
                .SetProperty(a => a.ChatSyncAttempts, 0)
                .SetProperty(a => a.ChatSyncError, (string?)null)
                .SetProperty(a => a.ChatLeaseUntil, (DateTimeOffset?)null)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken);
        if (ended == 1)
        {
            metrics.ChannelsEnded.Add(1);
            LogEnded(logger, channelId, endedBy);
        }
    }

    /// <summary>
    /// Brings the channel in Stream in line with the appointment and the clock: opens or freezes it at its
    /// window's edges, moves it when rescheduled, swaps a changed vet, ends it when its time or status says so.
    /// </summary>
    public async Task ReconcileAsync(string appointmentId, CancellationToken cancellationToken)
    {
        var appointment = await db.Appointments.AsNoTracking().FirstOrDefaultAsync(a => a.Id == appointmentId, cancellationToken);
        if (appointment?.ChannelId is not { } channelId)
        {
            return;
        }

        var now = time.GetUtcNow();
        var desired = ChatWindow.DesiredStatus(appointment, now, Options);
        if (desired == ChatStatus.Ended)
        {
            await EndAsync(appointment, appointment.ChatEndedBy ?? Options.SystemUserId, cancellationToken);
            await ReleaseAsync(appointmentId, due: null, cancellationToken);
            return;
        }

        await SyncUsersAsync([(appointment.PetOwnerId, appointment.PetOwnerName), (appointment.VetId, appointment.VetName)], cancellationToken);
        string[] applied = [.. new[] { appointment.ChannelPetOwnerId, appointment.ChannelVetId }.OfType<string>()];
        string[] wanted = [appointment.PetOwnerId, appointment.VetId];
        var add = wanted.Except(applied).ToList();
        var remove = applied.Except(wanted).ToList();
        if (add.Count > 0 || remove.Count > 0)
        {
            await stream.UpdateMembersAsync(ChatLimits.ChannelType, channelId, add, remove, cancellationToken);
        }

        await stream.PartialUpdateChannelAsync(ChatLimits.ChannelType, channelId, ChannelData(appointment, desired), null, cancellationToken);

        var updated = await db.Appointments
            .Where(a => a.Id == appointmentId && a.Version == appointment.Version)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatStatus, desired)
                .SetProperty(a => a.ChatFrozen, desired != ChatStatus.Active)
                .SetProperty(a => a.ChannelPetOwnerId, appointment.PetOwnerId)
                .SetProperty(a => a.ChannelVetId, appointment.VetId)
                .SetProperty(a => a.ChatSyncDue, ChatWindow.NextEdge(appointment, desired, Options))
                .SetProperty(a => a.ChatSyncAttempts, 0)
                .SetProperty(a => a.ChatSyncError, (string?)null)
                .SetProperty(a => a.ChatLeaseUntil, (DateTimeOffset?)null)
                .SetProperty(a => a.ChatLeaseOwner, (string?)null)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken);
        if (updated == 0)
        {
            // The appointment changed while Stream was being updated: look again at once.
            await ReleaseAsync(appointmentId, due: now, cancellationToken);
        }
        else if (appointment.ChatStatus != desired)
        {
            LogTransition(logger, channelId, appointment.ChatStatus, desired);
        }
    }

    /// <summary>
    /// For PUT /api/appointments: after the facts of an appointment with a chat change, have the scheduler
    /// apply them; an appointment cancelled, marked no-show or completed (unless kept open) ends its chat.
    /// </summary>
    public void OnFactsChanged(Appointment appointment, string changedBy, DateTimeOffset now)
    {
        if (appointment.ChannelId is null || appointment.ChatStatus == ChatStatus.Ended)
        {
            return;
        }

        if (appointment.ChatEndedAt is null && ChatWindow.StatusEndsChat(appointment.Status, Options))
        {
            appointment.ChatEndedAt = now;
            appointment.ChatEndedBy = changedBy;
        }

        appointment.ChatSyncDue = now;
        appointment.ChatSyncAttempts = 0;
    }

    public void WakeScheduler() => scheduler.Wake();

    /// <summary>
    /// Upserts to Stream the users it has not seen, or whose name the PMS changed, and remembers them.
    /// An upsert replaces a Stream user's data, so users are not upserted again for nothing.
    /// </summary>
    private async Task SyncUsersAsync(IReadOnlyList<(string Id, string? Name)> users, CancellationToken cancellationToken)
    {
        var ids = users.Select(u => u.Id).ToList();
        var known = await db.ChatUsers.Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, cancellationToken);
        var stale = users
            .Where(u => !known.TryGetValue(u.Id, out var user) || user.SyncedAt is null || (u.Name is not null && user.PushedName != u.Name))
            .ToList();
        if (stale.Count == 0)
        {
            return;
        }

        await stream.UpsertUsersAsync(stale.Select(u => new StreamUser(u.Id, u.Name ?? known.GetValueOrDefault(u.Id)?.Name)), cancellationToken);

        var now = time.GetUtcNow();
        foreach (var (id, name) in stale)
        {
            await db.UpsertChatUserAsync(id, name, name, now, cancellationToken);
        }
    }

    private static JsonObject ChannelData(Appointment appointment, ChatStatus status) => new()
    {
        ["name"] = ChannelName(appointment.PetOwnerName),
        ["appointmentId"] = appointment.Id,
        ["appointmentTime"] = appointment.StartsAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        ["activationMinutes"] = appointment.ChatActivationMinutes,
        ["organisationId"] = appointment.OrganisationId,
        ["petName"] = appointment.PetName,
        ["status"] = EnumNames(status),
        ["frozen"] = status != ChatStatus.Active,
    };

    public static string ChannelName(string? petOwnerName) => $"Chat with {petOwnerName ?? "Pet Owner"}";

    private async Task ReleaseAsync(string appointmentId, DateTimeOffset? due, CancellationToken cancellationToken) =>
        await db.Appointments.Where(a => a.Id == appointmentId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.ChatSyncDue, a => a.ChatStatus == ChatStatus.Ended ? null : due)
            .SetProperty(a => a.ChatLeaseUntil, (DateTimeOffset?)null)
            .SetProperty(a => a.ChatLeaseOwner, (string?)null), cancellationToken);

    private static string EnumNames(ChatStatus status) => Infrastructure.EnumNames<ChatStatus>.ToName(status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {ChannelId} already existed in Stream with {Count} member(s) who are not the appointment's; removed them and replaced its data")]
    private static partial void LogStrangersRemoved(ILogger logger, string channelId, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat {ChannelId} created ({Status})")]
    private static partial void LogCreated(ILogger logger, string channelId, ChatStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat {ChannelId} ended by {EndedBy}")]
    private static partial void LogEnded(ILogger logger, string channelId, string endedBy);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat {ChannelId} went from {From} to {To}")]
    private static partial void LogTransition(ILogger logger, string channelId, ChatStatus? from, ChatStatus to);
}
