namespace AppointmentChat.Api.Channels;

/// <summary>
/// Told when a chat's end has reached Stream (the end message sent, the channel frozen), just before the end is
/// recorded: features above Channels that act on an ended chat (the transcript callback) hook in here, so Channels
/// knows none of them. Called again should the end be applied again (a crash before the record, the scheduler's safety
/// net), so an implementation must be idempotent.
/// </summary>
internal interface IChatEndedHook
{
    Task ChatEndedAsync(Chat chat, CancellationToken cancellationToken);
}
