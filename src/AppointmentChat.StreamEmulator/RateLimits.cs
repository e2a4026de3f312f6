using System.Collections.Concurrent;

namespace AppointmentChat.StreamEmulator;

/// <summary>What one call left of its limits: the <c>X-RateLimit-*</c> headers, and whether it was refused.</summary>
public readonly record struct RateLimitVerdict(int Limit, int Remaining, long Reset, bool Refused);

/// <summary>
/// Stream's rate limits, as stream-chat-go <c>docs/debugging_and_cli/rate_limits.md</c> states them: each endpoint has a
/// limit per minute, counted per app and platform (server, web, iOS, Android each on their own), enforced per minute and
/// per second (the per-minute limit divided by 30); on top of that each user gets 60 calls a minute per endpoint, which
/// server-side calls are not subject to. Windows are fixed and aligned on Unix time; <c>X-RateLimit-Reset</c> is the end
/// of the window that refused the call (or of the minute), as a Unix timestamp. Where the documentation is silent the
/// stricter reading is taken: the partial channel update (not in the table) counts against Update Channel, and an
/// endpoint not in the table gets the table's smallest limit, 60.
/// </summary>
public sealed class RateLimitCounter(TimeProvider time, EmulatorSettings settings)
{
    /// <summary>Each user's limit per endpoint and minute.</summary>
    public const int UserLimitPerMinute = 60;

    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>The table's default limits for self-serve plans, per minute and platform.</summary>
    public static int DocumentedLimit(string bucket) => bucket switch
    {
        "Connect" or "GetOrCreateChannel" or "GetApp" or "MarkRead" or "MarkUnread" or "MarkAllRead" or "QueryChannels" or "SendEvent" => 10_000,
        "QueryUsers" or "SendMessage" or "UpdateMessage" or "DeleteMessage" or "StopWatchingChannel" or "UploadFile" or "UploadImage" => 1_000,
        "UpdateChannel" or "UpdateUsers" or "UpdateUsersPartial" => 300,
        "DeleteChannel" => 60,
        _ => 60,
    };

    /// <summary>The limit an endpoint's calls count against: the partial channel update shares Update Channel's.</summary>
    public static string BucketOf(string endpoint) => endpoint == "UpdateChannelPartial" ? "UpdateChannel" : endpoint;

    public int LimitPerMinute(string bucket) =>
        settings.RateLimits.TryGetValue(bucket, out var limit) ? limit : DocumentedLimit(bucket);

    /// <summary>Counts one call by <paramref name="platform"/> (and, for a user's call, by that user).</summary>
    public RateLimitVerdict Count(string endpoint, string platform, string? userId)
    {
        var bucket = BucketOf(endpoint);
        var perMinute = LimitPerMinute(bucket);
        var perSecond = Math.Max(1, perMinute / 30);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var second = now / 1000;
        var minute = second / 60;

        var minuteCount = Add($"{platform}|{bucket}|m", minute);
        var secondCount = Add($"{platform}|{bucket}|s", second);
        var userCount = userId is null ? 0 : Add($"{platform}|{bucket}|u|{userId}", minute);
        var minuteReset = (minute + 1) * 60;

        if (!settings.EnforceRateLimits)
        {
            return new RateLimitVerdict(perMinute, perMinute - minuteCount, minuteReset, Refused: false);
        }

        if (minuteCount > perMinute)
        {
            return new RateLimitVerdict(perMinute, 0, minuteReset, Refused: true);
        }

        if (secondCount > perSecond)
        {
            return new RateLimitVerdict(perMinute, 0, second + 1, Refused: true);
        }

        if (userCount > Math.Min(UserLimitPerMinute, perMinute))
        {
            return new RateLimitVerdict(UserLimitPerMinute, 0, minuteReset, Refused: true);
        }

        return new RateLimitVerdict(perMinute, perMinute - minuteCount, minuteReset, Refused: false);
    }

    public void Reset() => _windows.Clear();

    private int Add(string key, long window) =>
        _windows.AddOrUpdate(key, _ => new Window(window, 1), (_, w) => w.Index == window ? w with { Count = w.Count + 1 } : new Window(window, 1)).Count;

    private sealed record Window(long Index, int Count);
}
