using System.Text.Json;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.RateLimiting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Operations;

/// <summary>Section <c>Health</c>.</summary>
internal sealed class HealthOptions
{
    public const string Section = "Health";

    /// <summary>A webhook waiting longer than this, or a push due longer than this, makes the backlog Degraded.</summary>
    public TimeSpan BacklogThreshold { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the Stream check waits for an answer.</summary>
    public TimeSpan StreamTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often, at most, an instance checks Stream and the backlog, however often it is asked.</summary>
    public TimeSpan DependencyCheckInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// <c>/health/live</c>: the process answers. <c>/health/ready</c>: this instance can serve — its database is reachable
/// with every migration applied; 503 otherwise. <c>/health/dependencies</c>: what every instance shares and none can
/// fix by leaving rotation — Stream, the inbox and outbox backlog (<see cref="DependencyChecks"/>), Redis's shared
/// limits — each Healthy or Degraded, never Unhealthy, so the answer is always 200. All three answer JSON.
/// </summary>
internal static class Health
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    public const string DependenciesPath = "/health/dependencies";
    private const string Ready = "ready";
    private const string Dependencies = "dependencies";

    public static IHostApplicationBuilder AddHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section)
            .Validate(o => o.BacklogThreshold > TimeSpan.Zero, "Health__BacklogThreshold must be positive.")
            .Validate(o => o.StreamTimeout > TimeSpan.Zero && o.StreamTimeout <= TimeSpan.FromMinutes(1), "Health__StreamTimeout must be between 00:00:00 and 00:01:00.")
            .Validate(o => o.DependencyCheckInterval > TimeSpan.Zero && o.DependencyCheckInterval <= TimeSpan.FromHours(1), "Health__DependencyCheckInterval must be between 00:00:00 and 01:00:00.")
            .ValidateOnStart();
        builder.Services.AddSingleton<DependencyChecks>();
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseCheck>("database", tags: [Ready])
            .Add(new HealthCheckRegistration("stream", services => services.GetRequiredService<DependencyChecks>().Stream, HealthStatus.Degraded, [Dependencies]))
            .Add(new HealthCheckRegistration("backlog", services => services.GetRequiredService<DependencyChecks>().Backlog, HealthStatus.Degraded, [Dependencies]))
            .Add(new HealthCheckRegistration(RedisLimits.Dependency, services => services.GetRequiredService<RedisLimits>(), HealthStatus.Degraded, [Dependencies]));
        return builder;
    }

    public static WebApplication MapHealth(this WebApplication app)
    {
        // Probes read: GET and HEAD only (MapHealthChecks alone would answer any method).
        HttpMethodMetadata reads = new([HttpMethods.Get, HttpMethods.Head]);
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJsonAsync })
            .WithMetadata(reads).AllowAnonymous().ExcludeFromDescription();
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(Ready), ResponseWriter = WriteJsonAsync })
            .WithMetadata(reads).AllowAnonymous().ExcludeFromDescription();
        app.MapHealthChecks(DependenciesPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(Dependencies), ResponseWriter = WriteJsonAsync })
            .WithMetadata(reads).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static Task WriteJsonAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(http.Response.Body, new
        {
            status = report.Status.ToString(),
            totalDurationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
            }),
        }, JsonSerializerOptions.Web, http.RequestAborted);
    }

    /// <summary>
    /// Ready: the database is reachable with every migration applied, and the instance has started its work — until
    /// then its requests are answered 503 (<see cref="DatabaseStart"/>), so it must not take traffic.
    /// </summary>
    private sealed class DatabaseCheck(ChatDbContext db, DatabaseStart.ServiceStart? start = null) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                if (!await db.Database.CanConnectAsync(cancellationToken))
                {
                    return HealthCheckResult.Unhealthy("The database cannot be reached.");
                }

                var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
                if (pending > 0)
                {
                    return HealthCheckResult.Unhealthy($"{pending} migration(s) not applied.");
                }

                return start is { HasStarted: false }
                    ? HealthCheckResult.Unhealthy("Migrations applied; the service is starting its work.")
                    : HealthCheckResult.Healthy($"{db.Database.ProviderName?.Split('.')[^1]} reachable, migrations applied.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy($"The database cannot be reached ({ex.GetType().Name}).");
            }
        }
    }
}
