namespace AppointmentChat.StreamEmulator;

/// <summary>
/// The emulator's settings. Mutable at run time (through the control API) so tests can point the
/// webhooks elsewhere or turn on rate limiting without restarting it.
/// </summary>
public sealed class EmulatorSettings
{
    public string ApiKey { get; set; } = "local";

    /// <summary>
    /// The file the emulator keeps its Stream app in (see <see cref="StateFile"/>), so a restart changes nothing;
    /// null keeps it in memory only. Read once, when the emulator starts: set it before then.
    /// </summary>
    public string? StateFile { get; set; }

    /// <summary>Signs webhooks and verifies every token presented to the emulator.</summary>
    public string ApiSecret { get; set; } = "";

    /// <summary>Where events are POSTed, like the webhook URL in Stream's dashboard; null sends none.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>Stream waits about 6 s for the receiver before it counts an attempt as failed.</summary>
    public TimeSpan WebhookAttemptTimeout { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Attempts per event, the first included, as Stream makes them: 3 on a timeout, 408, 429 or 5xx, and at most 2 when
    /// the connection fails, all within <see cref="WebhookRetryBudget"/> (Stream's webhook docs, "Performance and Error
    /// Handling": 6 s an attempt, retries within 15 s). After that the event is lost, as with Stream.
    /// </summary>
    public int WebhookMaxAttempts { get; set; } = 3;

    /// <summary>Attempts per event when the connection fails (nothing listens, a reset): Stream makes 2.</summary>
    public int WebhookMaxAttemptsWhenUnreachable { get; set; } = 2;

    /// <summary>No attempt starts later than this after the first: Stream's retries of one webhook fit within 15 s.</summary>
    public TimeSpan WebhookRetryBudget { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Delay before the first retry; doubled for each one after.</summary>
    public TimeSpan WebhookRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Until then, every webhook is lost as if Stream had used up its attempts (an outage of the receiver longer than
    /// Stream's retry budget), recorded with the outcome <c>dropped</c>; null sends them all.
    /// </summary>
    public DateTimeOffset? DropWebhooksUntil { get; set; }

    /// <summary>How many webhook deliveries are in flight at once.</summary>
    public int WebhookConcurrency { get; set; } = 4;

    /// <summary>
    /// Refuse calls over Stream's limits with 429, code 9, as Stream does (<see cref="RateLimitCounter"/>); on by default.
    /// The headers are sent either way.
    /// </summary>
    public bool EnforceRateLimits { get; set; } = true;

    /// <summary>
    /// Per-minute limits by endpoint (Stream's operation names: <c>UpdateChannel</c>, <c>UpdateUsers</c>, …) in place of
    /// the documented defaults, as a Stream plan with other limits has them; the per-second limit follows (limit / 30).
    /// </summary>
    public IReadOnlyDictionary<string, int> RateLimits { get; set; } = new Dictionary<string, int>();

    /// <summary>How often a client connection gets a <c>health.check</c> event unprompted (Stream: every 30 s).</summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a client connection may stay silent before the emulator closes it. The SDKs ping every
    /// 25 s after each health check, so only a dead or frozen client stays silent this long.
    /// </summary>
    public TimeSpan ConnectionIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
