using AppointmentChat.Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Stream;

/// <summary>The Stream Chat app this service talks to. The secret never leaves the server.</summary>
internal sealed class StreamOptions
{
    public const string Section = "Stream";
    public const string DefaultBaseUrl = "https://chat.stream-io-api.com";
    public const string EmulatorApiKey = "local";
    public const string EmulatorPath = "/stream";

    /// <summary>Setting <c>STREAM_API_KEY</c>: public by design, the apps need it too.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Setting <c>STREAM_API_SECRET</c>: signs user tokens and server calls; never logged or returned.</summary>
    public string? ApiSecret { get; set; }

    /// <summary>Setting <c>STREAM_CHAT_URL</c>, the name Stream's official SDKs read.</summary>
    public string BaseUrl { get; set; } = DefaultBaseUrl;

    /// <summary>
    /// True when no <c>STREAM_API_KEY</c> is set: the service hosts the Stream emulator itself under /stream.
    /// Allowed in Development, or elsewhere only with <c>Stream__UseEmulator=true</c>.
    /// </summary>
    public bool UseEmulator { get; set; }

    /// <summary>
    /// Where the apps reach the built-in emulator (<c>GET /api/chat/config</c>'s <c>baseUrl</c>), e.g.
    /// <c>http://192.168.1.20:5080/stream</c> for a phone on the developer's network; unset, a loopback request's own
    /// host, else the address the service listens on — never a Host header a caller chose.
    /// </summary>
    public string? EmulatorPublicUrl { get; set; }

    /// <summary>Time allowed for one attempt of a Stream call.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>Time allowed for a Stream call including its retries.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public int MaxRetries { get; set; } = 3;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Per-minute limits by Stream endpoint (<c>Stream__RateLimits__UpdateChannel=600</c>) where the app's plan differs
    /// from Stream's documented defaults (<see cref="StreamRateLimits"/>).
    /// </summary>
    public Dictionary<string, int> RateLimits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The share of each limit that paced work (the scheduler, the catch-up pass) uses; the rest is left for calls made on
    /// requests, which go at once.
    /// </summary>
    public double PacedShare { get; set; } = 0.8;

    public int PerMinute(string endpoint) =>
        RateLimits.TryGetValue(endpoint, out var limit) ? limit : StreamRateLimits.DocumentedPerMinute(endpoint);

    /// <summary>The spacing of paced calls to <paramref name="endpoint"/>: the minute shared out at <see cref="PacedShare"/> of its limit.</summary>
    public TimeSpan PacedInterval(string endpoint) => TimeSpan.FromMinutes(1) / (PerMinute(endpoint) * PacedShare);
}

internal sealed class StreamOptionsSetup(IConfiguration configuration, DataFolder dataFolder)
    : IConfigureOptions<StreamOptions>, IPostConfigureOptions<StreamOptions>
{
    public const string EmulatorSecretFile = "stream-emulator.secret";

    public void Configure(StreamOptions options)
    {
        configuration.GetSection(StreamOptions.Section).Bind(options);
        options.ApiKey = NonEmpty(configuration["STREAM_API_KEY"]) ?? options.ApiKey;
        options.ApiSecret = NonEmpty(configuration["STREAM_API_SECRET"]) ?? options.ApiSecret;
        options.BaseUrl = NonEmpty(configuration["STREAM_CHAT_URL"]) ?? options.BaseUrl;
    }

    public void PostConfigure(string? name, StreamOptions options)
    {
        if (!string.IsNullOrEmpty(options.ApiKey))
        {
            return;
        }

        options.UseEmulator = true;
        options.ApiKey = StreamOptions.EmulatorApiKey;
        options.ApiSecret ??= dataFolder.ReadOrCreateSecret(EmulatorSecretFile);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

internal sealed class StreamOptionsValidator(IHostEnvironment environment, IConfiguration configuration) : IValidateOptions<StreamOptions>
{
    public ValidateOptionsResult Validate(string? name, StreamOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.ApiSecret))
        {
            failures.Add("STREAM_API_SECRET is not set: it is required when STREAM_API_KEY is set.");
        }

        if (options.UseEmulator && !environment.IsDevelopment() && !configuration.GetValue<bool>("Stream:UseEmulator"))
        {
            failures.Add("STREAM_API_KEY is not set: outside Development set STREAM_API_KEY and STREAM_API_SECRET, or Stream__UseEmulator=true to run against the built-in emulator.");
        }

        if (!options.UseEmulator && (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add("STREAM_CHAT_URL must be an absolute http(s) URL.");
        }

        if (options.AttemptTimeout <= TimeSpan.Zero || options.TotalTimeout < options.AttemptTimeout)
        {
            failures.Add("Stream__AttemptTimeout must be positive and no longer than Stream__TotalTimeout.");
        }

        if (!string.IsNullOrEmpty(options.EmulatorPublicUrl)
            && (!Uri.TryCreate(options.EmulatorPublicUrl, UriKind.Absolute, out var publicUrl) || (publicUrl.Scheme != Uri.UriSchemeHttps && publicUrl.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add("Stream__EmulatorPublicUrl must be an absolute http(s) URL.");
        }

        if (options.PacedShare is <= 0 or > 1)
        {
            failures.Add("Stream__PacedShare must be more than 0 and at most 1.");
        }

        if (options.RateLimits.Any(l => l.Value < 1))
        {
            failures.Add("Stream__RateLimits__<endpoint> must be at least 1 (calls a minute).");
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            failures.Add("Stream__MaxRetries must be between 0 and 10.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
