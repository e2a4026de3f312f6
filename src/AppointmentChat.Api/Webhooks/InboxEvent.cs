using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks;

/// <summary>
/// A verified webhook from Stream, stored before it is acknowledged and processed after, once: the
/// <see cref="DedupKey"/> (Stream's <c>X-Webhook-Id</c>, or a hash of the body) is unique.
/// </summary>
internal sealed class InboxEvent
{
    public long Id { get; init; }

    public required string DedupKey { get; init; }

    public required string EventType { get; init; }

    /// <summary>The channel the event is about, if any (for operators).</summary>
    public string? ChannelId { get; init; }

    /// <summary>The raw JSON body, as signed.</summary>
    public required string Payload { get; init; }

    public DateTimeOffset ReceivedAt { get; init; }

    public InboxStatus Status { get; set; } = InboxStatus.Pending;

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset? ProcessedAt { get; set; }

    /// <summary>Why it was ignored, or the last error.</summary>
    public string? Note { get; set; }

    public DateTimeOffset? LeaseUntil { get; set; }

    public string? LeaseOwner { get; set; }

    public const int MaxDedupKeyLength = 200;
    public const int MaxNoteLength = 1000;
}

internal enum InboxStatus
{
    Pending,
    Processed,

    /// <summary>Stored but of no interest: an unknown type, or a channel the service does not know.</summary>
    Ignored,

    /// <summary>Kept failing; parked with its error for operators, never blocking the events behind it.</summary>
    Dead,

    /// <summary>Dead, and an operator decided it is not to be processed: kept with its error until retention deletes it.</summary>
    Discarded,
}

/// <summary>Section <c>Webhooks</c>.</summary>
internal sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>Largest body accepted (after decompression); bigger ones get 413.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Processing attempts before an event is parked as dead.</summary>
    public int MaxAttempts { get; set; } = 8;

    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the processor looks for events it was not woken for (e.g. received by another instance).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the processor lets events gather before a pass: under a steady stream of webhooks, passes woken by
    /// every commit would take a few events each, and their transactions would take turns with the receiver's.
    /// </summary>
    public TimeSpan GatherDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How often the catch-up pass (<see cref="StreamCatchUp"/>) asks Stream for messages whose webhook was lost; it also runs at start.</summary>
    public TimeSpan CatchUpInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A message the catch-up pass finds is pushed only if it is at most this old: a push about a message from long
    /// ago, arriving now, says more about the outage than about the chat.
    /// </summary>
    public TimeSpan CatchUpPushWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Each pass looks this much further back than the last one began (clock differences, messages sent during a pass).</summary>
    public TimeSpan CatchUpOverlap { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How far back the very first pass looks.</summary>
    public TimeSpan CatchUpFirstLookback { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The furthest back any pass looks, however long the service was down.</summary>
    public TimeSpan CatchUpMaxLookback { get; set; } = TimeSpan.FromDays(3);
}

internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = new List<string>();
        if (options.MaxBodyBytes is < 1024 or > 64 * 1024 * 1024)
        {
            failures.Add("Webhooks__MaxBodyBytes must be between 1024 and 67108864.");
        }

        if (options.MaxAttempts is < 1 or > 100)
        {
            failures.Add("Webhooks__MaxAttempts must be between 1 and 100.");
        }

        if (options.FirstRetryDelay <= TimeSpan.Zero || options.MaxRetryDelay < options.FirstRetryDelay)
        {
            failures.Add("Webhooks__FirstRetryDelay must be positive and at most Webhooks__MaxRetryDelay.");
        }

        if (options.PollInterval < TimeSpan.FromMilliseconds(50) || options.PollInterval > TimeSpan.FromMinutes(10))
        {
            failures.Add("Webhooks__PollInterval must be between 00:00:00.05 and 00:10:00.");
        }

        if (options.GatherDelay < TimeSpan.Zero || options.GatherDelay > TimeSpan.FromSeconds(1))
        {
            failures.Add("Webhooks__GatherDelay must be between 00:00:00 and 00:00:01.");
        }

        if (options.CatchUpInterval < TimeSpan.FromSeconds(10) || options.CatchUpInterval > TimeSpan.FromDays(1))
        {
            failures.Add("Webhooks__CatchUpInterval must be between 00:00:10 and 1.00:00:00.");
        }

        // Pushes are kept (and so never sent twice) for at least a day: Retention__Notifications.
        if (options.CatchUpPushWindow < TimeSpan.Zero || options.CatchUpPushWindow > TimeSpan.FromHours(12))
        {
            failures.Add("Webhooks__CatchUpPushWindow must be between 00:00:00 and 12:00:00.");
        }

        if (options.CatchUpOverlap < TimeSpan.Zero || options.CatchUpOverlap > TimeSpan.FromHours(1))
        {
            failures.Add("Webhooks__CatchUpOverlap must be between 00:00:00 and 01:00:00.");
        }

        if (options.CatchUpFirstLookback < TimeSpan.Zero || options.CatchUpMaxLookback < options.CatchUpFirstLookback || options.CatchUpMaxLookback > TimeSpan.FromDays(30))
        {
            failures.Add("Webhooks__CatchUpFirstLookback must be at least 00:00:00 and at most Webhooks__CatchUpMaxLookback, which is at most 30.00:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
