namespace AppointmentChat.Api.Notifications;

/// <summary>
/// The words of a message's push, in one place so they can be translated together: the body says what the sender sent
/// ("Sent a photo", "Sent 3 photos", "Sent a file") when the message carries attachments, followed by its text when it
/// has one and previews are on.
/// </summary>
internal static class PushTexts
{
    /// <summary>The title when the sender's name is not known, and the body when previews are off and nothing was attached.</summary>
    public const string NewMessage = "New message";

    /// <summary>
    /// The body of a message's push: <paramref name="preview"/> (its text, shortened; null when previews are off), after
    /// what was attached, by kind: Stream's attachment types <c>image</c>, <c>video</c>, <c>audio</c>,
    /// <c>voiceRecording</c>, <c>giphy</c> and <c>file</c>; any other or a mix is counted as attachments.
    /// </summary>
    public static string Body(string? preview, IReadOnlyList<string> attachmentTypes)
    {
        var sent = Sent(attachmentTypes);
        return (sent, preview) switch
        {
            (null, { Length: > 0 }) => preview,
            (null, _) => NewMessage,
            (_, { Length: > 0 }) => $"{sent}: {preview}",
            _ => sent,
        };
    }

    private static string? Sent(IReadOnlyList<string> types)
    {
        if (types.Count == 0)
        {
            return null;
        }

        var kind = types.Distinct(StringComparer.Ordinal).Count() == 1 ? types[0] : "";
        var count = types.Count;
        return kind switch
        {
            "image" => count == 1 ? "Sent a photo" : $"Sent {count} photos",
            "video" => count == 1 ? "Sent a video" : $"Sent {count} videos",
            "audio" => count == 1 ? "Sent an audio file" : $"Sent {count} audio files",
            "voiceRecording" => count == 1 ? "Sent a voice message" : $"Sent {count} voice messages",
            "giphy" => "Sent a GIF",
            "file" => count == 1 ? "Sent a file" : $"Sent {count} files",
            _ => count == 1 ? "Sent an attachment" : $"Sent {count} attachments",
        };
    }
}
