using System.Text.Json.Nodes;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Organisations;
using AppointmentChat.Api.Stream;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Channels;

/// <summary>
/// The chat of an appointment: creating it in Stream, ending it, and bringing Stream in line with the
/// appointment and the clock. Stream is written first and the database second, so a failure leaves
/// nothing half-made: every step is idempotent and the next attempt converges.
/// </summary>
internal sealed partial class AppointmentChats(
    ChatRecord record,
    ChatUsersInStream users,
    StreamChatClient stream,
    TimeProvider time,
    IOptions<ChatOptions> options,
    IOptions<StreamOptions> streamOptions,
    ChatSchedulerSignal scheduler,
    PracticeSettingsReader practices,
    Infrastructure.ChatMetrics metrics,
    IEnumerable<IChatEndedHook> endedHooks,
    ILogger<AppointmentChats> logger) : IAppointmentChat
{
    private ChatOptions Options => options.Value;

    public int DefaultActivationMinutes => Options.DefaultActivationMinutes;

    public string SystemUserId => Options.SystemUserId;

    /// <summary>
    /// When the scheduler takes over a creation or an end that a request began: well after the request's Stream calls
    /// (all of which share one Stream__TotalTimeout) are over, so the two never race.
    /// </summary>
    private TimeSpan RepairDelay => streamOptions.Value.TotalTimeout * 2 + TimeSpan.FromSeconds(1);

    /// <summary>The appointment's two people, named as of its last write.</summary>
    private static NamedUser[] People(Appointment appointment) =>
        [new(appointment.PetOwnerId, appointment.PetOwnerName, appointment.UpdatedAt), new(appointment.VetId, appointment.VetName, appointment.UpdatedAt)];

    /// <summary>The practice's system user, named by its settings, which are always current.</summary>
    private NamedUser SystemUser(PracticeSettings practice) => new(practice.SystemUserId, practice.SystemUserName, time.GetUtcNow());

    /// <summary>
    /// Creates the channel in Stream (users first) and records it, unless another request recorded it
    /// first or the appointment changed meanwhile: then returns false and the caller reads again.
    /// </summary>
    public async Task<bool> CreateAsync(Appointment appointment, CancellationToken cancellationToken)
    {
        var practice = await practices.ForAsync(appointment.OrganisationId, cancellationToken);
        var window = Options.For(practice);
        var now = time.GetUtcNow();
        var status = ChatWindow.DesiredStatus(appointment, endedAt: null, now, window); // an end is decided only for a chat that exists
        var channelId = ChatLimits.ChannelIdFor(appointment.Id);

        // Written ahead: should Stream create the channel but this request never record it (a timeout, a lost answer,
        // a crash), the scheduler finds the appointment due and adopts what Stream has (RepairCreationAsync).
        if (await record.ExpectCreationAsync(appointment.Id, now + RepairDelay, cancellationToken))
        {
            scheduler.Wake();
        }

        string[] members = [appointment.PetOwnerId, appointment.VetId];
        var created = await users.WithUsersAsync(
            [.. People(appointment), SystemUser(practice)],
            () => stream.GetOrCreateChannelAsync(ChatLimits.ChannelType, channelId, appointment.VetId, members, AppointmentChannel.Data(appointment, status), cancellationToken),
            cancellationToken);

        // Get-or-create keeps a channel that already exists as it is. If Stream lets users create channels, someone
        // could have made this one first, with themselves in it: nobody but the two people may stay, and the
        // channel's data is replaced with the appointment's, before the chat is handed out.
        var present = created.Members?.Select(m => m.UserId).ToList() ?? [];
        var strangers = present.Except(members).ToList();
        if (strangers.Count > 0)
        {
            LogStrangersRemoved(logger, channelId, strangers.Count);
            await ChangeMembersAsync(channelId, [.. members.Except(present)], strangers, cancellationToken);
            await stream.UpdateChannelAsync(ChatLimits.ChannelType, channelId, AppointmentChannel.Data(appointment, status), cancellationToken);
        }

        // A channel left by an earlier, interrupted attempt (perhaps with other people, if the appointment changed since)
        // may differ: its members are recorded as Stream has them, and the scheduler brings it in line now.
        List<string> inStream = strangers.Count > 0 || created.Members is null ? [.. members] : present;
        var inStep = strangers.Count == 0
            && created.Channel.Frozen == (status != ChatStatus.Active)
            && created.Channel.CustomString("status") == AppointmentChannel.StatusName(status)
            && inStream.Order().SequenceEqual(members.Order());
        var due = inStep ? ChatWindow.NextEdge(appointment, status, window) : now;

        var recorded = await record.RecordCreatedAsync(appointment.Id, appointment.Version, channelId, status, MemberSlots(inStream, appointment), now, due, cancellationToken);
        if (recorded)
        {
            metrics.ChannelsCreated.Add(1);
            LogCreated(logger, channelId, status);
            scheduler.Wake();
        }

        return recorded;
    }

    /// <summary>
    /// Ends the chat. The decision (when, by whom) is recorded first, so Stream's own webhooks about the
    /// change, which may arrive before this finishes, attribute it rightly; and should Stream fail here,
    /// the scheduler finishes the job once it is reachable. Then the end message from the system user (its
    /// own id, so a repeat sends nothing), a partial update <c>status: ended, frozen: true</c> that keeps
    /// every other field, and the record. Ending an ended chat does nothing. The end message is Stream's system message
    /// type, which a server-side send may use (the spec's MessageRequest.type: regular or system).
    /// </summary>
    /// <param name="reapply">Apply the end to Stream again though the record says it is ended (Stream may have been changed since).</param>
    public async Task EndAsync(Chat chat, string endedBy, CancellationToken cancellationToken, bool reapply = false)
    {
        if ((chat.Status == ChatStatus.Ended && !reapply) || chat.ChannelId is not { } channelId)
        {
            return;
        }

        var practice = await practices.ForAsync(chat.Appointment.OrganisationId, cancellationToken);
        var decidedAt = time.GetUtcNow();
        var safetyNet = decidedAt + RepairDelay;
        // A scheduler pass that read the chat before this decision cannot record over it: it looks again, and applies the
        // end to Stream again should its own write to Stream have landed after ours.
        var decided = await record.DecideEndAsync(chat.AppointmentId, decidedAt, endedBy, safetyNet, cancellationToken);

        // The due time this call answers for — the safety net it just set, or, re-applying, the one the scheduler was
        // woken for — is cleared at the end; a newer one (a scheduler pass that lost to this end asks to look again)
        // is left for the scheduler.
        var handledDue = decided ? safetyNet : chat.SyncDue;

        await users.WithUsersAsync(
            [SystemUser(practice)],
            () => stream.SendMessageAsync(ChatLimits.ChannelType, channelId, new NewMessage(practice.EndMessage, practice.SystemUserId, Id: channelId + "-ended", Type: "system"), cancellationToken),
            cancellationToken);
        await stream.PartialUpdateChannelAsync(ChatLimits.ChannelType, channelId, new JsonObject { ["status"] = AppointmentChannel.StatusName(ChatStatus.Ended), ["frozen"] = true }, null, cancellationToken);
        foreach (var hook in endedHooks)
        {
            await hook.ChatEndedAsync(chat, cancellationToken); // before the record: a crash between them is re-applied, never lost
        }

        var ended = await record.RecordEndedAsync(chat.AppointmentId, decidedAt, endedBy, handledDue, cancellationToken);
        if (ended && !reapply)
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
        var chat = await record.ReadAsync(appointmentId, cancellationToken);
        if (chat is null)
        {
            return;
        }

        var appointment = chat.Appointment;
        if (chat.ChannelId is not { } channelId)
        {
            await RepairCreationAsync(appointment, cancellationToken);
            return;
        }

        var practice = await practices.ForAsync(appointment.OrganisationId, cancellationToken);
        var window = Options.For(practice);
        var now = time.GetUtcNow();
        var desired = ChatWindow.DesiredStatus(appointment, chat.EndedAt, now, window);
        if (desired == ChatStatus.Ended && chat.ChannelDeletedAt is not null)
        {
            await record.ReleaseAsync(appointmentId, due: null, cancellationToken); // deleted in Stream: nothing to end there
            return;
        }

        if (desired == ChatStatus.Ended)
        {
            // An ended chat is due only when something raced its end (a scheduler pass that lost to it, see below, or
            // Stream's report of the end arriving while work was due): Stream gets the end again, which is harmless.
            await EndAsync(chat, chat.EndedBy ?? practice.SystemUserId, cancellationToken, reapply: chat.Status == ChatStatus.Ended);
            if (chat.Status != ChatStatus.Ended)
            {
                RecordLateness(ChatStatus.Ended, chat.SyncDue);
            }

            await record.ReleaseHandledAsync(appointmentId, chat.SyncDue, cancellationToken);
            return;
        }

        string[] recorded = [.. new[] { chat.ChannelPetOwnerId, chat.ChannelVetId }.OfType<string>()];
        string[] wanted = [appointment.PetOwnerId, appointment.VetId];
        await users.WithUsersAsync(
            People(appointment),
            async () =>
            {
                if (!recorded.Order().SequenceEqual(wanted.Order()))
                {
                    await SyncMembersAsync(appointment, channelId, wanted, cancellationToken);
                }

                return true;
            },
            cancellationToken);

        await stream.PartialUpdateChannelAsync(ChatLimits.ChannelType, channelId, AppointmentChannel.Data(appointment, desired), null, cancellationToken);

        var updated = await record.RecordInLineAsync(
            appointmentId, chat.Version, desired, (appointment.PetOwnerId, appointment.VetId), ChatWindow.NextEdge(appointment, desired, window), cancellationToken);
        if (!updated)
        {
            // The appointment changed while Stream was being updated — perhaps ended, in which case what was just
            // written to Stream may have undone the end: look again at once, ended or not.
            await record.ReleaseAsync(appointmentId, due: now, cancellationToken);
        }
        else if (chat.Status != desired)
        {
            RecordLateness(desired, chat.SyncDue);
            LogTransition(logger, channelId, chat.Status, desired);
        }
    }

    /// <summary>
    /// For PUT /api/appointments: after the facts of an appointment with a chat change, have the scheduler
    /// apply them; an appointment cancelled, marked no-show or completed (unless kept open) ends its chat.
    /// </summary>
    public Task<bool> OnFactsChangedAsync(Appointment appointment, string changedBy, DateTimeOffset now, CancellationToken cancellationToken) =>
        record.FactsChangedAsync(appointment, ChatWindow.StatusEndsChat(appointment.Status, Options), changedBy, now, cancellationToken);

    public void WakeScheduler() => scheduler.Wake();

    public async Task<AppointmentChatState> StateAsync(string appointmentId, CancellationToken cancellationToken) =>
        await record.StateAsync(appointmentId, cancellationToken) ?? AppointmentChatState.None;


    /// <summary>
    /// A creation was begun and never recorded (see <see cref="CreateAsync"/>). If Stream has the channel, it is
    /// recorded as Stream has it and looked at again at once, which brings it in line with the appointment (or ends
    /// it, if the appointment was cancelled meanwhile); if Stream has none, there is nothing to repair.
    /// </summary>
    private async Task RepairCreationAsync(Appointment appointment, CancellationToken cancellationToken)
    {
        var channelId = ChatLimits.ChannelIdFor(appointment.Id);
        var filter = new JsonObject { ["cid"] = new JsonObject { ["$in"] = new JsonArray($"{ChatLimits.ChannelType}:{channelId}") } };
        var found = await stream.QueryChannelsAsync(new QueryChannelsRequest(filter, Limit: 1), cancellationToken);
        if (found.FirstOrDefault(c => c.Channel.Id == channelId) is not { } state)
        {
            await record.ForgetCreationAsync(appointment.Id, cancellationToken);
            return;
        }

        var status = Infrastructure.EnumNames<ChatStatus>.TryParse(state.Channel.CustomString("status"), out var reported) ? reported : ChatStatus.Pending;
        var now = time.GetUtcNow();
        var members = MemberSlots(state.Members?.Select(m => m.UserId).ToList() ?? [], appointment);
        if (await record.AdoptAsync(appointment.Id, channelId, status, state.Channel.Frozen, members, now, cancellationToken))
        {
            metrics.ChannelsCreated.Add(1);
            LogAdopted(logger, channelId);
        }
    }

    /// <summary>How long after it was due (its window's edge, or the change that called for it) a change of state reached Stream.</summary>
    private void RecordLateness(ChatStatus reached, DateTimeOffset? due)
    {
        if (due is { } dueAt)
        {
            metrics.ScheduleLateness.Record(Math.Max(0, (time.GetUtcNow() - dueAt).TotalSeconds),
                new KeyValuePair<string, object?>("to", AppointmentChannel.StatusName(reached)));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {ChannelId} already existed in Stream with {Count} member(s) who are not the appointment's; removed them and replaced its data")]
    private static partial void LogStrangersRemoved(ILogger logger, string channelId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat {ChannelId} was created in Stream by a request that could not record it; recorded now")]
    private static partial void LogAdopted(ILogger logger, string channelId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat {ChannelId} created ({Status})")]
    private static partial void LogCreated(ILogger logger, string channelId, ChatStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat {ChannelId} ended by {EndedBy}")]
    private static partial void LogEnded(ILogger logger, string channelId, string endedBy);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat {ChannelId} went from {From} to {To}")]
    private static partial void LogTransition(ILogger logger, string channelId, ChatStatus? from, ChatStatus to);
}
