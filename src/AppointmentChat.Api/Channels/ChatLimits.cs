namespace AppointmentChat.Api.Channels;

/// <summary>The chat's channel in Stream: its type, its id from the appointment's, and the preview the chat list keeps.</summary>
internal static class ChatLimits
{
    /// <summary>How much of the last message the chat list keeps.</summary>
    public const int MaxPreviewLength = 500;

    public const string ChannelType = "messaging";

    public const string ChannelPrefix = "appointment-";

    public static string ChannelIdFor(string appointmentId) => ChannelPrefix + appointmentId;
}
