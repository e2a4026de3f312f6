using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Organisations;

/// <summary>
/// What <c>PUT /api/organisations/{organisationId}/settings</c> takes: the practice's own settings, all of them. A field
/// left out (or null) is not the practice's own: the service-wide setting applies.
/// </summary>
internal sealed record OrganisationSettingsRequest(
    string? TimeZone = null,
    int? ChatActivationMinutes = null,
    int? CloseGraceMinutes = null,
    string? SystemUserName = null,
    string? EndMessage = null,
    string? Language = null)
{
    public const int MaxActivationMinutes = 24 * 60;
    public const int MaxCloseGraceMinutes = 7 * 24 * 60;

    public static readonly OrganisationSettingsRequest Example = new(
        "Europe/Berlin", 10, 60, "Tierarztpraxis Dr. Müller", "Vielen Dank! Dieser Chat ist beendet.", "de");

    /// <summary>Checks every field; the settings to store, or null with <paramref name="errors"/> filled.</summary>
    public OrganisationSettings? Validate(RequestErrors errors, string organisationId)
    {
        if (TimeZone is not null && TimeZones.Find(TimeZone) is null)
        {
            errors.Add("timeZone", TimeZones.Expected);
        }

        var activation = errors.IntInRange("chatActivationMinutes", ChatActivationMinutes, 0, MaxActivationMinutes, required: false);
        var grace = errors.IntInRange("closeGraceMinutes", CloseGraceMinutes, 0, MaxCloseGraceMinutes, required: false);
        var systemUserName = Text(errors, "systemUserName", SystemUserName, OrganisationSettings.MaxSystemUserNameLength, singleLine: true);
        var endMessage = Text(errors, "endMessage", EndMessage, OrganisationSettings.MaxEndMessageLength, singleLine: false);
        if (Language is not null && !PracticeTexts.IsKnown(Language))
        {
            errors.Add("language", $"must be one of {string.Join(", ", PracticeTexts.Languages)}.");
        }

        return errors.Any ? null : new OrganisationSettings
        {
            OrganisationId = organisationId,
            TimeZone = TimeZone,
            ChatActivationMinutes = activation,
            CloseGraceMinutes = grace,
            SystemUserName = systemUserName,
            EndMessage = endMessage,
            Language = Language,
        };
    }

    /// <summary>A text given must say something: blank is refused, not taken for "not set" (null is that).</summary>
    private static string? Text(RequestErrors errors, string field, string? value, int maxLength, bool singleLine)
    {
        if (value is null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add(field, "must not be blank; leave it out (or null) for the service-wide setting.");
            return null;
        }

        if (singleLine)
        {
            return errors.OptionalText(field, value, maxLength);
        }

        var trimmed = value.Trim();
        if (trimmed.Length > maxLength)
        {
            errors.Add(field, $"must be at most {maxLength} characters.");
        }
        else if (trimmed.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
        {
            errors.Add(field, "must not contain control characters other than line breaks and tabs.");
        }

        return trimmed;
    }
}

/// <summary>The settings that apply to the organisation's chats, and which of them are its own (the rest are the service's).</summary>
/// <param name="TimeZone">Null: none is known, wall-clock times are read in UTC.</param>
/// <param name="SystemUserId">The Stream user the practice's system messages come from.</param>
/// <param name="Own">The fields the organisation set itself, by their JSON names.</param>
internal sealed record OrganisationSettingsResponse(
    string OrganisationId,
    string? TimeZone,
    int ChatActivationMinutes,
    int CloseGraceMinutes,
    string SystemUserId,
    string SystemUserName,
    string EndMessage,
    string Language,
    IReadOnlyList<string> Own,
    DateTimeOffset? UpdatedAt)
{
    public static readonly OrganisationSettingsResponse Example = new(
        "clinic-1", "Europe/Berlin", 10, 60, "system@clinic-1", "Tierarztpraxis Dr. Müller", "Vielen Dank! Dieser Chat ist beendet.", "de",
        ["timeZone", "chatActivationMinutes", "closeGraceMinutes", "systemUserName", "endMessage", "language"],
        new DateTimeOffset(2030, 1, 15, 9, 0, 0, TimeSpan.Zero));

    public static OrganisationSettingsResponse From(PracticeSettings practice)
    {
        var own = practice.Own;
        var fields = new List<string>();
        Note(fields, "timeZone", own?.TimeZone);
        Note(fields, "chatActivationMinutes", own?.ChatActivationMinutes);
        Note(fields, "closeGraceMinutes", own?.CloseGraceMinutes);
        Note(fields, "systemUserName", own?.SystemUserName);
        Note(fields, "endMessage", own?.EndMessage);
        Note(fields, "language", own?.Language);
        return new(
            practice.OrganisationId, practice.TimeZone, practice.ChatActivationMinutes, practice.CloseGraceMinutes,
            practice.SystemUserId, practice.SystemUserName, practice.EndMessage, practice.Language, fields, own?.UpdatedAt);
    }

    private static void Note(List<string> fields, string name, object? value)
    {
        if (value is not null)
        {
            fields.Add(name);
        }
    }
}
