using System.Text.Json;
using System.Text.Json.Serialization;

namespace AppointmentChat.Api.Transcripts;

/// <summary>The whole conversation of an appointment's chat, oldest message first, as the clinical record keeps it.</summary>
internal sealed record TranscriptResponse(
    string ChannelId,
    string AppointmentId,
    string OrganisationId,
    string? PetName,
    TranscriptPerson PetOwner,
    TranscriptPerson Vet,
    string Status,
    string TimeZone,
    string GeneratedAt,
    IReadOnlyList<TranscriptMessage> Messages);

internal sealed record TranscriptPerson(string Id, string? Name);

/// <param name="Role"><c>pet-owner</c>, <c>vet</c>, <c>system</c>, or <c>other</c> (someone no longer the appointment's, such as an earlier vet).</param>
/// <param name="SentAt">In the organisation's time zone, with its offset (<c>2030-01-15T14:02:11.123+01:00</c>).</param>
/// <param name="Text">Absent for a deleted message.</param>
internal sealed record TranscriptMessage(
    string Id,
    TranscriptPerson Author,
    string Role,
    string SentAt,
    string? Text,
    bool Deleted,
    IReadOnlyList<TranscriptAttachment> Attachments);

/// <summary>An attachment by link, as Stream gives it: the file stays where it was uploaded.</summary>
internal sealed record TranscriptAttachment(string? Type, string? Title, string? Url);

internal static class TranscriptRoles
{
    public const string PetOwner = "pet-owner";
    public const string Vet = "vet";
    public const string System = "system";
    public const string Other = "other";
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TranscriptResponse))]
internal sealed partial class TranscriptsJsonContext : JsonSerializerContext;

internal static class TranscriptExamples
{
    public static readonly TranscriptResponse Transcript = new(
        "appointment-apt-1", "apt-1", "clinic-1", "Rex", new("owner-1", "Alex"), new("vet-1", "Dr. Vet"), "ended", "Europe/London",
        "2030-01-15T15:05:00.000+00:00",
        [
            new("m-1", new("owner-1", "Alex"), TranscriptRoles.PetOwner, "2030-01-15T14:02:11.123+00:00", "Rex is limping.", false,
                [new("image", "paw.jpg", "https://cdn.example/paw.jpg")]),
            new("m-2", new("vet-1", "Dr. Vet"), TranscriptRoles.Vet, "2030-01-15T14:03:40.000+00:00", null, true, []),
            new("appointment-apt-1-ended", new("system", "Veterinary practice"), TranscriptRoles.System, "2030-01-15T15:00:00.000+00:00",
                "This chat has been ended by the veterinary practice.", false, []),
        ]);
}
