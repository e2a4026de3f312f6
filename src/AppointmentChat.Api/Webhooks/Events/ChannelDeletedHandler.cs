using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary><c>channel.deleted</c>: a channel deleted in Stream shows as ended — never as active.</summary>
internal sealed class ChannelDeletedHandler(ChatDbContext db, TimeProvider time) : IStreamEventHandler
{
    public IReadOnlyList<string> EventTypes { get; } = ["channel.deleted"];

    public async Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken)
    {
        if (streamEvent.AppointmentChannel() is not { } channelId)
        {
            return EventOutcome.NotAnAppointmentChannel;
        }

        var at = StreamEvent.Time(streamEvent.CreatedAt, "created_at") ?? time.GetUtcNow();
        var rows = await db.Appointments.Where(a => a.ChannelId == channelId).ExecuteUpdateAsync(set => set
            .SetProperty(a => a.ChatStatus, ChatStatus.Ended)
            .SetProperty(a => a.ChatFrozen, true)
            .SetProperty(a => a.ChannelDeletedAt, at)
            .SetProperty(a => a.ChatEndedAt, a => a.ChatEndedAt ?? at)
            .SetProperty(a => a.ChatEndedBy, a => a.ChatEndedBy ?? ChannelUpdatedHandler.EndedByStream)
            .SetProperty(a => a.ChatSyncDue, (DateTimeOffset?)null), cancellationToken);
        return rows == 0 ? EventOutcome.UnknownChannel : EventOutcome.Done;
    }
}
