using System.Net;
using AppointmentChat.Api.Auth;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Transcripts;

/// <summary>
/// Section <c>Transcripts</c>: where each organisation's PMS takes the transcript of an ended chat
/// (<c>Transcripts__Organisations__{organisationId}__CallbackUrl</c> and <c>__Secret</c>), and how the outbox retries.
/// An organisation without a callback gets none; its transcripts are fetched with the endpoint.
/// </summary>
internal sealed class TranscriptOptions
{
    public const string Section = "Transcripts";

    /// <summary>The shortest secret accepted: 32 characters, as much as HMAC-SHA256's output carries.</summary>
    public const int MinSecretLength = 32;

    public const int MaxSecretLength = 512;

    public Dictionary<string, OrganisationCallback> Organisations { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Attempts before a callback is given up (and shown to operators).</summary>
    public int MaxAttempts { get; set; } = 10;

    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the PMS has to answer one delivery.</summary>
    public TimeSpan CallbackTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public OrganisationCallback? CallbackOf(string organisationId) =>
        Organisations.TryGetValue(organisationId, out var callback) && callback.CallbackUrl is { Length: > 0 } ? callback : null;

    internal sealed class OrganisationCallback
    {
        /// <summary>Where the transcript is POSTed: https, or http to a loopback address only.</summary>
        public string? CallbackUrl { get; set; }

        /// <summary>The key of the HMAC-SHA256 signature the PMS checks.</summary>
        public string? Secret { get; set; }
    }
}

internal sealed class TranscriptOptionsValidator : IValidateOptions<TranscriptOptions>
{
    public ValidateOptionsResult Validate(string? name, TranscriptOptions options)
    {
        var failures = new List<string>();
        foreach (var (organisation, callback) in options.Organisations)
        {
            // One line per organisation, naming each of its settings that is wrong.
            var key = $"Transcripts__Organisations__{organisation}";
            var problems = new List<string>();
            if (!CallerIds.IsAcceptableOrganisation(organisation))
            {
                problems.Add($"{key}: '{organisation}' is not an organisation id (1 to 64 letters, digits, '@', '_' or '-').");
            }

            if (CallbackUrlProblem(callback.CallbackUrl) is { } problem)
            {
                problems.Add($"{key}__CallbackUrl {problem}");
            }

            if (callback.Secret is not { Length: >= TranscriptOptions.MinSecretLength and <= TranscriptOptions.MaxSecretLength } || string.IsNullOrWhiteSpace(callback.Secret))
            {
                problems.Add($"{key}__Secret must be {TranscriptOptions.MinSecretLength} to {TranscriptOptions.MaxSecretLength} characters (the key the PMS checks signatures with).");
            }

            if (problems.Count > 0)
            {
                failures.Add(string.Join(" ", problems));
            }
        }

        if (options.MaxAttempts is < 1 or > 100)
        {
            failures.Add("Transcripts__MaxAttempts must be between 1 and 100.");
        }

        if (options.FirstRetryDelay <= TimeSpan.Zero || options.FirstRetryDelay > options.MaxRetryDelay)
        {
            failures.Add("Transcripts__FirstRetryDelay must be positive and at most Transcripts__MaxRetryDelay.");
        }

        if (options.MaxRetryDelay > TimeSpan.FromDays(1))
        {
            failures.Add("Transcripts__MaxRetryDelay must be at most a day.");
        }

        if (options.PollInterval < TimeSpan.FromMilliseconds(100) || options.PollInterval > TimeSpan.FromHours(1))
        {
            failures.Add("Transcripts__PollInterval must be between 100 ms and an hour.");
        }

        if (options.CallbackTimeout < TimeSpan.FromSeconds(1) || options.CallbackTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add("Transcripts__CallbackTimeout must be between 1 second and 5 minutes.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Why the URL is no place to send a clinical record, if it is not: https, or http to this machine only.</summary>
    private static string? CallbackUrlProblem(string? url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return "must be an absolute https URL.";
        }

        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return "must not carry credentials or a fragment (the signature authenticates the service).";
        }

        var loopback = uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
        return uri.Scheme == Uri.UriSchemeHttp && !loopback
            ? "must be https: a transcript is a clinical record (plain http only to a loopback address, for a PMS on the same machine)."
            : null;
    }
}
