using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Unread;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary><c>message.updated</c>, <c>message.deleted</c>: an edited or deleted message changes the chat list only if it is the last one.</summary>
/// <remarks>
/// A deleted message that was unread counts as read: one fewer for each member it was counted for (UnreadCounts.DeletedAsync),
/// once, by its id. Only within a count Stream reported (which holds no ids) is a message found by its time, where one
/// deleted twice (soft, then hard) is taken out twice; the next read or the catch-up pass's repair corrects that.
/// </remarks>
internal sealed class MessageChangedHandler(ChatRecord record, UnreadCounts unread) : IStreamEventHandler
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
        if (eventType == Deleted && !message.Silent && StreamEvent.Time(message.CreatedAt, "created_at") is { } sentAt)
        {
            await unread.DeletedAsync(channelId, messageId, streamEvent.SenderId(), sentAt, cancellationToken);
        }

        return await record.RecordMessageChangedAsync(channelId, messageId, preview, cancellationToken) ? EventOutcome.Done : EventOutcome.Ignore("not the chat's last message");
    }
}
