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

    internal sealed class WindowLimit
    {
        public int PermitLimit { get; set; }

        public int WindowSeconds { get; set; }
    }
}

internal static class RateLimits
{
    public const string TokenPolicy = "token";

    public static IHostApplicationBuilder AddRateLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitingOptions>()
            .BindConfiguration(RateLimitingOptions.Section)
            .Validate(o => o.Token.PermitLimit > 0 && o.Token.WindowSeconds > 0,
                "RateLimiting__Token__PermitLimit and RateLimiting__Token__WindowSeconds must be positive.")
            .ValidateOnStart();

        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.OnRejected = WriteRejectionAsync;
            limiter.AddPolicy(TokenPolicy, context =>
            {
                var limit = context.RequestServices.GetRequiredService<IOptions<RateLimitingOptions>>().Value.Token;
                return RateLimitPartition.GetFixedWindowLimiter(PartitionKey(context), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = limit.PermitLimit,
                    Window = TimeSpan.FromSeconds(limit.WindowSeconds),
                    QueueLimit = 0,
                });
            });
        });
        return builder;
    }

    /// <summary>Limits count per caller; an unauthenticated request never gets this far, but falls back to the address.</summary>
    private static string PartitionKey(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { } name } ? "user:" + name : "ip:" + context.Connection.RemoteIpAddress;

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
