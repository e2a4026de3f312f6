using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.RateLimiting;

/// <summary>
/// A limit per client address on requests that fail authentication (answered 401): past
/// <c>RateLimiting__FailedAuthentication__PermitLimit</c> failures in its window, every request from that address is
/// answered 429 with <c>Retry-After</c> before its token is even looked at, so a flood of bad tokens cannot spend the
/// service's CPU on signature checks. Behind a proxy the address is the proxy's unless forwarded headers are trusted
/// (<c>ASPNETCORE_FORWARDEDHEADERS_ENABLED=true</c>, docs/operating.md), and then one client's flood would hold back
/// everyone behind that proxy.
/// </summary>
internal sealed class FailedAuthenticationLimit(IOptions<RateLimitingOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetTokenBucketLimiter(address, _ => Bucket(options.Value.FailedAuthentication)));

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (_failures.GetStatistics(address) is { CurrentAvailablePermits: <= 0 })
        {
            await RefuseAsync(context, options.Value.FailedAuthentication);
            return;
        }

        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            using var _ = _failures.AttemptAcquire(address);
        }
    }

    public void Dispose() => _failures.Dispose();

    private static TokenBucketRateLimiterOptions Bucket(RateLimitingOptions.WindowLimit limit) => new()
    {
        TokenLimit = limit.PermitLimit,
        TokensPerPeriod = Math.Max(1, limit.PermitLimit / limit.WindowSeconds),
        ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, limit.WindowSeconds / Math.Min(limit.PermitLimit, limit.WindowSeconds))),
        AutoReplenishment = true,
        QueueLimit = 0,
    };

    private static async Task RefuseAsync(HttpContext context, RateLimitingOptions.WindowLimit limit)
    {
        var retryAfter = Math.Max(1, limit.WindowSeconds / Math.Max(1, limit.PermitLimit));
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Detail = $"Too many requests with missing or invalid credentials from this address; retry in {retryAfter} s.",
            },
        });
    }
}
