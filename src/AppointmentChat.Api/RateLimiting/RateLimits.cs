using System.Globalization;
using System.Threading.RateLimiting;
using AppointmentChat.Api.Auth;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.RateLimiting;

/// <summary>Per-user request limits (section <c>RateLimiting</c>).</summary>
internal sealed class RateLimitingOptions
{
    public const string Section = "RateLimiting";

    public WindowLimit Token { get; set; } = new() { PermitLimit = 20, WindowSeconds = 60 };

    /// <summary>Requests that fail authentication, per client address (<see cref="FailedAuthenticationLimit"/>).</summary>
    public WindowLimit FailedAuthentication { get; set; } = new() { PermitLimit = 60, WindowSeconds = 60 };

    /// <summary>How long a request waits for Redis (<c>REDIS_URL</c>) before its instance's own limit decides.</summary>
    public SharedLimits Redis { get; set; } = new();

    internal sealed class WindowLimit
    {
        public int PermitLimit { get; set; }

        public int WindowSeconds { get; set; }
    }

    internal sealed class SharedLimits
    {
        /// <summary>The longest a request waits for Redis's answer.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(250);

        /// <summary>After Redis failed, how long requests skip it before one tries it again.</summary>
        public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
    }
}

internal static partial class RateLimits
{
    public const string TokenPolicy = "token";

    public static IHostApplicationBuilder AddRateLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitingOptions>()
            .BindConfiguration(RateLimitingOptions.Section)
            .Validate(o => o.Token.PermitLimit > 0 && o.Token.WindowSeconds > 0,
                "RateLimiting__Token__PermitLimit and RateLimiting__Token__WindowSeconds must be positive.")
            .Validate(o => o.FailedAuthentication.PermitLimit > 0 && o.FailedAuthentication.WindowSeconds > 0,
                "RateLimiting__FailedAuthentication__PermitLimit and RateLimiting__FailedAuthentication__WindowSeconds must be positive.")
            .Validate(o => o.Redis.Timeout >= TimeSpan.FromMilliseconds(10) && o.Redis.Timeout <= TimeSpan.FromSeconds(10),
                "RateLimiting__Redis__Timeout must be between 00:00:00.010 and 00:00:10.")
            .Validate(o => o.Redis.BreakDuration >= TimeSpan.FromSeconds(0.5) && o.Redis.BreakDuration <= TimeSpan.FromHours(1),
                "RateLimiting__Redis__BreakDuration must be between 00:00:00.500 and 01:00:00.")
            .ValidateOnStart();

        builder.Services.AddSingleton<RedisLimits>();
        builder.Services.AddSingleton<FailedAuthenticationLimit>();
        builder.Services.AddHostedService<RateLimitStartup>();
        builder.Services.AddOptions<RateLimitingOptions>()
            .Validate<IConfiguration>(
                (_, configuration) => configuration["REDIS_URL"] is not { Length: > 0 } url || RedisLimits.TryParse(url),
                "REDIS_URL is not a Redis URL (redis://[:password@]host:port[/db]) or StackExchange.Redis configuration string.");
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.OnRejected = WriteRejectionAsync;
            limiter.AddPolicy(TokenPolicy, context =>
            {
                var services = context.RequestServices;
                var limit = services.GetRequiredService<IOptions<RateLimitingOptions>>().Value.Token;
                var redis = services.GetRequiredService<RedisLimits>();
                var key = PartitionKey(context);
                return RateLimitPartition.Get(key, _ =>
                {
                    var local = TokenBucket(limit);
                    return redis.Configured
                        ? new RedisTokenBucket(redis, $"appointment-chat:rate:{TokenPolicy}:{key}", limit.PermitLimit, TimeSpan.FromSeconds(limit.WindowSeconds),
                            local, services.GetRequiredService<TimeProvider>())
                        : local;
                });
            });
        });
        return builder;
    }

    /// <summary>Answers 429 to an address that failed authentication too often, before its token is checked: put it before authentication.</summary>
    public static IApplicationBuilder UseFailedAuthenticationLimit(this IApplicationBuilder app)
    {
        var limit = app.ApplicationServices.GetRequiredService<FailedAuthenticationLimit>();
        return app.Use((context, next) => limit.InvokeAsync(context, next));
    }

    /// <summary>
    /// PermitLimit requests at once, refilled at PermitLimit per window: a token every WindowSeconds / PermitLimit,
    /// in steps of at least 100 ms. Replenished by the partitioned limiter's own 100 ms tick, not one timer per user.
    /// </summary>
    private static TokenBucketRateLimiter TokenBucket(RateLimitingOptions.WindowLimit limit)
    {
        var period = Math.Max((double)limit.WindowSeconds / limit.PermitLimit, 0.1);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit.PermitLimit,
            TokensPerPeriod = (int)Math.Clamp(Math.Round(limit.PermitLimit * period / limit.WindowSeconds), 1, int.MaxValue),
            ReplenishmentPeriod = TimeSpan.FromSeconds(period),
            AutoReplenishment = false,
            QueueLimit = 0,
        });
    }

    /// <summary>Limits count per caller; an unauthenticated request never gets this far, but falls back to the address.</summary>
    private static string PartitionKey(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { } name } ? "user:" + name : "ip:" + context.Connection.RemoteIpAddress;

    /// <summary>
    /// Starts connecting to Redis at start (not on the first request), without waiting for it; says in one line how
    /// limits are kept (with Redis, once the first attempt ends).
    /// </summary>
    private sealed partial class RateLimitStartup(RedisLimits redis, ILogger<RedisLimits> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (!redis.Configured)
            {
                LogLocal(logger);
            }

            redis.StartConnecting();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Rate limits: per instance (set REDIS_URL to share them across instances)")]
        private static partial void LogLocal(ILogger logger);
    }

    private static async ValueTask WriteRejectionAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        var detail = "Too many requests for this user; retry later.";
        if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            detail = $"Too many requests for this user; retry in {seconds} s.";
        }

        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = StatusCodes.Status429TooManyRequests, Detail = detail },
        });
    }
}
