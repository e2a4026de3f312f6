using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Unread;

namespace AppointmentChat.Api.Webhooks.Events;

/// <summary>
/// A member's read state: <c>message.read</c> and <c>notification.mark_read</c> clear the member's unread count (a
/// <c>notification.mark_read</c> naming no channel — "mark all read" — clears all of theirs), and
/// <c>notification.mark_unread</c> sets it from the event's <c>unread_messages</c>; the oldest unread message was sent
/// after <c>last_read_at</c> (the time of the last message the member read), which is as close as the event tells.
/// Fields as GetStream/protocol's openapi types MessageReadEvent, NotificationMarkReadEvent and
/// NotificationMarkUnreadEvent declare them (stream-chat-go events.go names the same event types).
/// </summary>
internal sealed class ReadStateHandler(UnreadCounts unread, ChatRecord record, TimeProvider time) : IStreamEventHandler
{
    public const string MessageRead = "message.read";
    public const string MarkRead = "notification.mark_read";
    public const string MarkUnread = "notification.mark_unread";

    public IReadOnlyList<string> EventTypes { get; } = [MessageRead, MarkRead, MarkUnread];

    public async Task<EventOutcome> HandleAsync(string eventType, StreamEvent streamEvent, CancellationToken cancellationToken)
    {
        var userId = StreamEvent.RequiredString(StreamEvent.RequiredObject(streamEvent.User, "user").Id, "id");
        if (!StreamIds.IsValidUserId(userId))
        {
            return EventOutcome.Ignore("a user id Stream would not accept");
        }

        var at = StreamEvent.Time(streamEvent.CreatedAt, "created_at") ?? time.GetUtcNow();
        if (eventType == MarkRead && streamEvent.Cid is null && streamEvent.ChannelId is null)
        {
            await unread.ReadAllAsync(userId, at, cancellationToken);
            return EventOutcome.Done;
        }

        if (streamEvent.AppointmentChannel() is not { } channelId)
        {
            return EventOutcome.NotAnAppointmentChannel;
        }

        if (!await record.HasChannelAsync(channelId, cancellationToken))
        {
            return EventOutcome.UnknownChannel;
        }

        if (eventType == MarkUnread)
        {
            var count = streamEvent.UnreadMessages ?? throw new InvalidDataException("the event has no 'unread_messages' count");
            var lastRead = StreamEvent.Time(streamEvent.LastReadAt, "last_read_at");
            await unread.SetAsync(channelId, userId, count, lastRead, at, cancellationToken);
        }
        else
        {
            await unread.ReadAsync(channelId, userId, at, cancellationToken);
        }

        return EventOutcome.Done;
    }
}
