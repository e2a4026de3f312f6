using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary><c>channel.updated</c>: the mirror follows Stream's frozen flag and status; an ended chat stays ended.</summary>
internal sealed class ChannelUpdatedHandler(ChatDbContext db, TimeProvider time) : IStreamEventHandler
{
    /// <summary>Who ended a chat that Stream reports ended (or deleted) before the service recorded an end.</summary>
    public const string EndedByStream = "stream";

    public IReadOnlyList<string> EventTypes { get; } = ["channel.updated"];

    public async Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken)
    {
        if (streamEvent.AppointmentChannel() is not { } channelId)
        {
            return EventOutcome.NotAnAppointmentChannel;
        }

        var channel = StreamEvent.RequiredObject(streamEvent.Channel, "channel");
        var updatedAt = StreamEvent.Time(channel.UpdatedAt, "updated_at") ?? StreamEvent.Time(streamEvent.CreatedAt, "created_at") ?? time.GetUtcNow();

        if (!await db.Appointments.AnyAsync(a => a.ChannelId == channelId, cancellationToken))
        {
            return EventOutcome.UnknownChannel;
        }

        var (frozen, status) = (channel.Frozen, channel.Status);
        var newer = db.Appointments.Where(a => a.ChannelId == channelId && (a.ChannelUpdatedAt == null || a.ChannelUpdatedAt <= updatedAt));
        if (status == "ended")
        {
            await newer.ExecuteUpdateAsync(set => set
                .SetProperty(a => a.ChatFrozen, frozen)
                .SetProperty(a => a.ChannelUpdatedAt, updatedAt)
                .SetProperty(a => a.ChatStatus, ChatStatus.Ended)
                .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? updatedAt)
                .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? EndedByStream), cancellationToken);
            // Work the scheduler has due is left due: it may be re-applying the end after a write that undid it.
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

        return EventOutcome.Done;
    }
}
