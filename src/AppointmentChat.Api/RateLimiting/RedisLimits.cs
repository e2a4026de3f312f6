using AppointmentChat.Api.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StackExchange.Redis;

namespace AppointmentChat.Api.RateLimiting;

/// <summary>
/// The Redis connection for limits shared by every instance (<c>REDIS_URL</c>); absent, each instance limits on its
/// own. A Redis that is stopped, hung or unreachable never holds a request up: the service starts without waiting for
/// it, a command fails at once while there is no connection, an answer is waited for at most
/// <c>RateLimiting__Redis__Timeout</c>, and after failures a circuit breaker skips Redis for
/// <c>RateLimiting__Redis__BreakDuration</c> before one request tries it again. Meanwhile each instance's own bucket decides.
/// </summary>
internal sealed partial class RedisLimits : IHealthCheck, IDisposable
{
    public const string Dependency = "redis";

    private readonly string? _url;
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _breaker = new();
    private readonly ILogger<RedisLimits> _logger;
    private Task<ConnectionMultiplexer>? _connecting;

    public RedisLimits(IConfiguration configuration, IOptions<RateLimitingOptions> options, TimeProvider time, ChatMetrics metrics, ILogger<RedisLimits> logger)
    {
        _url = string.IsNullOrWhiteSpace(configuration["REDIS_URL"]) ? null : configuration["REDIS_URL"];
        _logger = logger;
        var redis = options.Value.Redis;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 2,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = redis.BreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<RedisException>().Handle<TimeoutException>().Handle<TimeoutRejectedException>(),
                StateProvider = _breaker,
                OnOpened = args =>
                {
                    LogOpened(_logger, args.Outcome.Exception?.GetType().Name ?? "no answer", args.BreakDuration.TotalSeconds);
                    return default;
                },
                OnClosed = _ =>
                {
                    LogClosed(_logger);
                    return default;
                },
            })
            .AddTimeout(redis.Timeout)
            .Build();
        if (Configured)
        {
            metrics.ObserveDependency(Dependency, () => IsUp);
        }
    }

    public bool Configured => _url is not null;

    /// <summary>Connected, and the breaker lets requests through to Redis.</summary>
    public bool IsUp => Connection is { IsConnected: true } && _breaker.CircuitState == CircuitState.Closed;

    private ConnectionMultiplexer? Connection => _connecting is { IsCompletedSuccessfully: true } connecting ? connecting.Result : null;

    /// <summary>Starts connecting and returns at once: until the first attempt ends, requests are limited per instance.</summary>
    public void StartConnecting()
    {
        if (_url is not null)
        {
            // On the thread pool: part of StackExchange.Redis's connect runs before its first await.
            _connecting ??= Task.Run(() => ConnectAsync(_url));
        }
    }

    /// <summary>Runs <paramref name="script"/> on <paramref name="key"/>; null when Redis cannot answer now.</summary>
    public async ValueTask<RedisResult?> EvaluateAsync(string script, RedisKey key, RedisValue[] values)
    {
        if (Connection is not { } connection)
        {
            return null;
        }

        try
        {
            return await _pipeline.ExecuteAsync(
                static (call, cancellationToken) => new ValueTask<RedisResult>(
                    call.Database.ScriptEvaluateAsync(call.script, [call.key], call.values).WaitAsync(cancellationToken)),
                (Database: connection.GetDatabase(), script, key, values));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ExecutionRejectedException)
        {
            return null;
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) => Task.FromResult(
        !Configured ? HealthCheckResult.Healthy("Rate limits per instance (REDIS_URL is not set).")
        : IsUp ? HealthCheckResult.Healthy("Rate limits shared through Redis.")
        : HealthCheckResult.Degraded("Redis does not answer: each instance limits on its own until it does."));

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
        options.BacklogPolicy = BacklogPolicy.FailFast; // no connection: fail at once rather than queue until a timeout
        options.ConnectTimeout = 2000;
        options.SyncTimeout = 2000;
        options.AsyncTimeout = 2000; // a request waits RateLimiting__Redis__Timeout at most; this only ends the command
        return options;
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(string url)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(Parse(url));
        LogShared(_logger, connection.IsConnected ? "connected" : "not reachable yet; this instance's own limit applies meanwhile");
        return connection;
    }

    public void Dispose()
    {
        if (_connecting is null)
        {
            return;
        }

        if (_connecting.IsCompletedSuccessfully)
        {
            _connecting.Result.Dispose();
        }
        else
        {
            _connecting.ContinueWith(connecting => connecting.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rate limits: shared across instances through Redis ({State})")]
    private static partial void LogShared(ILogger logger, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis did not answer the rate limit ({Reason}); this instance's own limit applies for {Seconds} s before Redis is tried again")]
    private static partial void LogOpened(ILogger logger, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis answers the rate limit again: limits are shared across instances")]
    private static partial void LogClosed(ILogger logger);
}
