using AppointmentChat.Api.Channels;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary><c>message.updated</c>, <c>message.deleted</c>: an edited or deleted message changes the chat list only if it is the last one.</summary>
internal sealed class MessageChangedHandler(ChatRecord record) : IStreamEventHandler
{
    public const string DeletedMessage = "This message was deleted.";

    private const string Deleted = "message.deleted";

    public IReadOnlyList<string> EventTypes { get; } = ["message.updated", Deleted];

    public async Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken)
    {
        if (streamEvent.AppointmentChannel() is not { } channelId)
        {
            return EventOutcome.NotAnAppointmentChannel;
        }

        var message = StreamEvent.RequiredObject(streamEvent.Message, "message");
        var messageId = StreamEvent.RequiredString(message.Id, "id");
        var preview = eventType == Deleted ? DeletedMessage : message.Preview(ChatLimits.MaxPreviewLength);
        return await record.RecordMessageChangedAsync(channelId, messageId, preview, cancellationToken) ? EventOutcome.Done : EventOutcome.Ignore("not the chat's last message");
    }
}
