using AppointmentChat.Api.Channels;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary><c>channel.deleted</c>: a channel deleted in Stream shows as ended — never as active.</summary>
internal sealed class ChannelDeletedHandler(ChatRecord record, TimeProvider time) : IStreamEventHandler
{
    public IReadOnlyList<string> EventTypes { get; } = ["channel.deleted"];

    public async Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken)
    {
        if (streamEvent.AppointmentChannel() is not { } channelId)
        {
            return EventOutcome.NotAnAppointmentChannel;
        }

        var at = StreamEvent.Time(streamEvent.CreatedAt, "created_at") ?? time.GetUtcNow();
        return await record.RecordDeletedInStreamAsync(channelId, at, cancellationToken) ? EventOutcome.Done : EventOutcome.UnknownChannel;
    }
}
