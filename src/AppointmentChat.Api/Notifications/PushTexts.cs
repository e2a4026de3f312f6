using AppointmentChat.Api.Organisations;

namespace AppointmentChat.Api.Notifications;

/// <summary>
/// The body of a message's push, in the practice's language (<see cref="PracticeTexts"/>, keys <c>PushSent…</c>): it
/// says what the sender sent ("Sent a photo", "Sent 3 photos", "Sent a file") when the message carries attachments,
/// followed by its text when it has one and previews are on.
/// </summary>
internal static class PushTexts
{
    /// <summary>
    /// The body of a message's push: <paramref name="preview"/> (its text, shortened; null when previews are off), after
    /// what was attached, by kind: Stream's attachment types <c>image</c>, <c>video</c>, <c>audio</c>,
    /// <c>voiceRecording</c>, <c>giphy</c> and <c>file</c>; any other or a mix is counted as attachments.
    /// </summary>
    public static string Body(PracticeTexts texts, string? preview, IReadOnlyList<string> attachmentTypes)
    {
        var sent = Sent(texts, attachmentTypes);
        return (sent, preview) switch
        {
            (null, { Length: > 0 }) => preview,
            (null, _) => texts.Get("PushBodyNoPreview"),
            (_, { Length: > 0 }) => string.Format(System.Globalization.CultureInfo.InvariantCulture, texts.Get("PushSentWithText"), sent, preview),
            _ => sent,
        };
    }

    private static string? Sent(PracticeTexts texts, IReadOnlyList<string> types)
    {
        if (types.Count == 0)
        {
            return null;
        }

        var kind = types.Distinct(StringComparer.Ordinal).Count() == 1 ? types[0] : "";
        var key = kind switch
        {
            "image" => "PushSentPhotos",
            "video" => "PushSentVideos",
            "audio" => "PushSentAudioFiles",
            "voiceRecording" => "PushSentVoiceMessages",
            "giphy" => "PushSentGifs",
            "file" => "PushSentFiles",
            _ => "PushSentAttachments",
        };
        return texts.Count(key, types.Count);
    }
}
