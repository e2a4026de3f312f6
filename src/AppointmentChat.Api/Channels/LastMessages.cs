namespace AppointmentChat.Api.Channels;

/// <summary>A chat's newest message, for the chat list.</summary>
internal sealed record LastMessage(string ChannelId, string MessageId, string Preview, DateTimeOffset At);
