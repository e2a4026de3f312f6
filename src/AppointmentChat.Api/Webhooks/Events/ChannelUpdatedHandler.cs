using AppointmentChat.Api.Channels;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary><c>channel.updated</c>: the mirror follows Stream's frozen flag and status; an ended chat stays ended.</summary>
internal sealed class ChannelUpdatedHandler(ChatRecord record, TimeProvider time) : IStreamEventHandler
{
    public IReadOnlyList<string> EventTypes { get; } = ["channel.updated"];

    public async Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken)
    {
        if (streamEvent.AppointmentChannel() is not { } channelId)
        {
            return EventOutcome.NotAnAppointmentChannel;
        }

        var channel = StreamEvent.RequiredObject(streamEvent.Channel, "channel");
        var updatedAt = StreamEvent.Time(channel.UpdatedAt, "updated_at") ?? StreamEvent.Time(streamEvent.CreatedAt, "created_at") ?? time.GetUtcNow();

        if (!await record.HasChannelAsync(channelId, cancellationToken))
        {
            return EventOutcome.UnknownChannel;
        }

        await record.RecordStreamUpdateAsync(channelId, channel.Frozen, channel.Status, updatedAt, cancellationToken);
        return EventOutcome.Done;
    }
}
