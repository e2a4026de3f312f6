using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace AppointmentChat.Api.RateLimiting;

/// <summary>
/// A token bucket kept in Redis, shared by every instance: <c>capacity</c> requests at once, refilled at
/// <c>capacity</c> per <c>window</c>. Redis keeps the time (so instance clocks need not agree). If Redis
/// cannot answer at once (<see cref="RedisLimits"/>), the instance's own bucket decides, so a Redis outage neither
/// holds up nor unlimits callers.
/// </summary>
internal sealed class RedisTokenBucket(RedisLimits redis, string key, int capacity, TimeSpan window, RateLimiter fallback, TimeProvider time)
    : RateLimiter
{
    // KEYS[1]: bucket; ARGV: capacity, milliseconds per token. Returns {allowed, retry-after ms}.
    private const string Script = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local capacity = tonumber(ARGV[1])
        local ms_per_token = tonumber(ARGV[2])
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(state[1]) or capacity
        local at = tonumber(state[2]) or now
        tokens = math.min(capacity, tokens + (now - at) / ms_per_token)
        local allowed = 0
        local retry = 0
        if tokens >= 1 then
          tokens = tokens - 1
          allowed = 1
        else
          retry = math.ceil((1 - tokens) * ms_per_token)
        end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
        redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * ms_per_token) + 1000)
        return {allowed, retry}
        """;

    private long _lastUsedTicks = time.GetUtcNow().UtcTicks;

    public override TimeSpan? IdleDuration => TimeSpan.FromTicks(time.GetUtcNow().UtcTicks - Interlocked.Read(ref _lastUsedTicks));

    public override RateLimiterStatistics? GetStatistics() => fallback.GetStatistics();

    /// <summary>The answer needs a round trip, so the synchronous attempt defers to <see cref="AcquireAsyncCore"/>.</summary>
    protected override RateLimitLease AttemptAcquireCore(int permitCount) => Lease.Pending;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _lastUsedTicks, time.GetUtcNow().UtcTicks);
        var msPerToken = window.TotalMilliseconds / capacity;
        if (await redis.EvaluateAsync(Script, key, [capacity, msPerToken]) is not { } answer)
        {
            return await fallback.AcquireAsync(permitCount, cancellationToken);
        }

        var result = (RedisResult[])answer!;
        return (long)result[0] == 1 ? Lease.Granted : Lease.Refused(TimeSpan.FromMilliseconds((long)result[1]));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            fallback.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null);
        public static readonly Lease Pending = new(false, null);

        public static Lease Refused(TimeSpan retryAfter) => new(false, retryAfter);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
