using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace AppointmentChat.Api.RateLimiting;

/// <summary>
/// The Redis connection for limits shared by every instance (<c>REDIS_URL</c>); absent, each instance
/// limits on its own. Connects lazily and never fails the service: limits fall back to local ones.
/// </summary>
internal sealed class RedisLimits(IConfiguration configuration) : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer?> _connection = new(() => Connect(configuration["REDIS_URL"]));

    public bool Configured => !string.IsNullOrWhiteSpace(configuration["REDIS_URL"]);

    public IDatabase? Database => _connection.Value?.GetDatabase();

    public static bool TryParse(string url)
    {
        // A URL of any other scheme (http://…) would be read by StackExchange.Redis as a host name.
        if (url.Contains("://", StringComparison.Ordinal)
            && !url.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            return Parse(url).EndPoints.Count > 0;
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException or FormatException)
        {
            return false;
        }
    }

    /// <summary>Accepts <c>redis://[:password@]host:port[/db]</c> or StackExchange.Redis's own form.</summary>
    internal static ConfigurationOptions Parse(string url)
    {
        ConfigurationOptions options;
        if (url.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            var uri = new Uri(url);
            options = new ConfigurationOptions { Ssl = uri.Scheme == "rediss" };
            options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port);
            var userInfo = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
            if (userInfo.Length == 2)
            {
                options.User = userInfo[0].Length > 0 ? userInfo[0] : null;
                options.Password = userInfo[1];
            }

            if (int.TryParse(uri.AbsolutePath.Trim('/'), System.Globalization.CultureInfo.InvariantCulture, out var database))
            {
                options.DefaultDatabase = database;
            }
        }
        else
        {
            options = ConfigurationOptions.Parse(url);
        }

        options.AbortOnConnectFail = false; // keep trying in the background; fall back meanwhile
        options.ConnectTimeout = 2000;
        options.SyncTimeout = 2000;
        options.AsyncTimeout = 2000;
        return options;
    }

    private static ConnectionMultiplexer? Connect(string? url) =>
        string.IsNullOrWhiteSpace(url) ? null : ConnectionMultiplexer.Connect(Parse(url));

    public void Dispose()
    {
        if (_connection.IsValueCreated)
        {
            _connection.Value?.Dispose();
        }
    }
}

/// <summary>
/// A token bucket kept in Redis, shared by every instance: <c>capacity</c> requests at once, refilled at
/// <c>capacity</c> per <c>window</c>. Redis keeps the time (so instance clocks need not agree). If Redis
/// cannot answer, the instance's own bucket decides, so a Redis outage neither blocks nor unlimits callers.
/// </summary>
internal sealed partial class RedisTokenBucket(IDatabase redis, string key, int capacity, TimeSpan window, RateLimiter fallback, TimeProvider time, ILogger logger)
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
        try
        {
            var msPerToken = window.TotalMilliseconds / capacity;
            var result = (RedisResult[])(await redis.ScriptEvaluateAsync(Script, [key], [capacity, msPerToken]))!;
            return (long)result[0] == 1 ? Lease.Granted : Lease.Refused(TimeSpan.FromMilliseconds((long)result[1]));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogFallback(logger, ex.GetType().Name);
            return await fallback.AcquireAsync(permitCount, cancellationToken);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            fallback.Dispose();
        }

        base.Dispose(disposing);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis did not answer the rate limit ({Reason}); this instance's own limit applies meanwhile")]
    private static partial void LogFallback(ILogger logger, string reason);

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
