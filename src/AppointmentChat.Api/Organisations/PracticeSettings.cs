using System.Collections.Concurrent;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Organisations;

/// <summary>
/// The service-wide settings an organisation falls back to (the chat's options, section <c>Chat</c>); the chat feature
/// provides them, so this feature needs nothing above it.
/// </summary>
internal interface IOrganisationDefaults
{
    /// <param name="organisationId">For the zone configured per organisation (<c>Chat__TimeZones__{organisationId}</c>).</param>
    OrganisationDefaults For(string organisationId);
}

/// <summary>The service-wide values; a null text means the built-in one in the organisation's language.</summary>
internal sealed record OrganisationDefaults(
    string? TimeZone,
    int ChatActivationMinutes,
    int CloseGraceMinutes,
    string SystemUserId,
    string? SystemUserName,
    string? EndMessage,
    string Language);

/// <summary>What applies to an organisation's chats: its own settings where it has them, else the service-wide ones.</summary>
internal sealed record PracticeSettings(
    string OrganisationId,
    string? TimeZone,
    bool OwnTimeZone,
    int ChatActivationMinutes,
    int CloseGraceMinutes,
    string SystemUserId,
    string SystemUserName,
    string EndMessage,
    string Language,
    OrganisationSettings? Own)
{
    public PracticeTexts Texts => PracticeTexts.For(Language);

    public static PracticeSettings Resolve(string organisationId, OrganisationSettings? own, OrganisationDefaults defaults)
    {
        var language = own?.Language ?? defaults.Language;
        var texts = PracticeTexts.For(language);
        return new PracticeSettings(
            organisationId,
            own?.TimeZone ?? defaults.TimeZone,
            own?.TimeZone is not null,
            own?.ChatActivationMinutes ?? defaults.ChatActivationMinutes,
            own?.CloseGraceMinutes ?? defaults.CloseGraceMinutes,
            // A practice with a name of its own speaks through a Stream user of its own: Stream shows one name per user.
            own?.SystemUserName is not null ? SystemUserIds.For(defaults.SystemUserId, organisationId) : defaults.SystemUserId,
            own?.SystemUserName ?? defaults.SystemUserName ?? texts.Get("SystemUserName"),
            own?.EndMessage ?? defaults.EndMessage ?? texts.Get("EndMessage"),
            language,
            own);
    }
}

/// <summary>
/// Reads an organisation's settings (<see cref="PracticeSettings"/>), kept for <see cref="KeptFor"/>: opening a chat, which
/// the apps do on every open, and a webhook batch ask for the same few practices many times. A change made through this
/// instance applies at once; one made through another instance within <see cref="KeptFor"/>.
/// </summary>
internal sealed class PracticeSettingsReader(IServiceScopeFactory scopes, IOrganisationDefaults defaults, TimeProvider time)
{
    public static readonly TimeSpan KeptFor = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (PracticeSettings Settings, DateTimeOffset Until)> _kept = new(StringComparer.Ordinal);

    public async Task<PracticeSettings> ForAsync(string organisationId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_kept.TryGetValue(organisationId, out var kept) && kept.Until > now)
        {
            return kept.Settings;
        }

        await using var scope = scopes.CreateAsyncScope();
        var own = await scope.ServiceProvider.GetRequiredService<ChatDbContext>().OrganisationSettings.AsNoTracking()
            .FirstOrDefaultAsync(o => o.OrganisationId == organisationId, cancellationToken);
        var settings = PracticeSettings.Resolve(organisationId, own, defaults.For(organisationId));
        if (_kept.Count >= MaxKept)
        {
            _kept.Clear(); // more practices than one instance serves at once: start over rather than grow
        }

        _kept[organisationId] = (settings, now + KeptFor);
        return settings;
    }

    /// <summary>After a change of <paramref name="organisationId"/>'s settings through this instance.</summary>
    public void Forget(string organisationId) => _kept.TryRemove(organisationId, out _);

    private const int MaxKept = 10_000;
}

/// <summary>
/// The Stream users that speak for practices: the service-wide one (<c>Chat__SystemUserId</c>), and, for a practice
/// that names its own, <c>{Chat__SystemUserId}@{organisationId}</c>. No person may have any of these ids.
/// </summary>
internal static class SystemUserIds
{
    public static string For(string systemUserId, string organisationId)
    {
        var id = $"{systemUserId}@{organisationId}";
        if (id.Length <= Infrastructure.StreamIds.MaxUserIdLength)
        {
            return id;
        }

        // Too long for Stream: the organisation id is shortened to a hash of it, which stays unique in practice.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(organisationId)));
        return $"{systemUserId}@{hash[..Math.Max(16, Infrastructure.StreamIds.MaxUserIdLength - systemUserId.Length - 1)]}"[..Infrastructure.StreamIds.MaxUserIdLength];
    }

    /// <summary>Whether <paramref name="userId"/> is the service-wide system user or a practice's own.</summary>
    public static bool IsSystemUser(string? userId, string systemUserId) =>
        userId is not null && (userId == systemUserId || userId.StartsWith(systemUserId + "@", StringComparison.Ordinal));
}
