using System.Text.Json;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Webhooks;
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

    /// <summary>A webhook waiting longer than this, or a push due longer than this, makes the service not ready.</summary>
    public TimeSpan BacklogThreshold { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the Stream check waits for an answer.</summary>
    public TimeSpan StreamTimeout { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>
/// <c>/health/live</c>: the process answers. <c>/health/ready</c>: the database is reachable with every
/// migration applied, Stream answers (when it is not the built-in emulator), and neither the webhook inbox
/// nor the push outbox is stuck. Both answer JSON; ready is 503 while any check fails.
/// </summary>
internal static class Health
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    private const string Ready = "ready";

    public static IHostApplicationBuilder AddHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section)
            .Validate(o => o.BacklogThreshold > TimeSpan.Zero, "Health__BacklogThreshold must be positive.")
            .Validate(o => o.StreamTimeout > TimeSpan.Zero && o.StreamTimeout <= TimeSpan.FromMinutes(1), "Health__StreamTimeout must be between 00:00:00 and 00:01:00.")
            .ValidateOnStart();
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseCheck>("database", tags: [Ready])
            .AddCheck<StreamCheck>("stream", tags: [Ready])
            .AddCheck<BacklogCheck>("backlog", tags: [Ready]);
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

    private sealed class DatabaseCheck(ChatDbContext db) : IHealthCheck
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
                return pending == 0
                    ? HealthCheckResult.Healthy($"{db.Database.ProviderName?.Split('.')[^1]} reachable, migrations applied.")
                    : HealthCheckResult.Unhealthy($"{pending} migration(s) not applied.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy($"The database cannot be reached ({ex.GetType().Name}).");
            }
        }
    }

    private sealed class StreamCheck(IOptions<StreamOptions> options, IOptions<HealthOptions> health, IServiceProvider services) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (options.Value.UseEmulator)
            {
                return HealthCheckResult.Healthy("The built-in Stream emulator (in process).");
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(health.Value.StreamTimeout);
            try
            {
                await services.GetRequiredService<StreamChatClient>().GetAppAsync(timeout.Token);
                return HealthCheckResult.Healthy("Stream answers.");
            }
            catch (Exception ex) when (ex is StreamApiException or StreamUnavailableException or OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy(ex is StreamApiException api ? $"Stream answered {(int)api.Status}." : "Stream does not answer.");
            }
        }
    }

    private sealed class BacklogCheck(ChatDbContext db, TimeProvider time, IOptions<HealthOptions> options) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var cutoff = time.GetUtcNow() - options.Value.BacklogThreshold;
            var stuckWebhooks = await db.Set<InboxEvent>().CountAsync(e => e.Status == InboxStatus.Pending && e.ReceivedAt < cutoff, cancellationToken);
            var stuckPushes = await db.Set<Notification>().CountAsync(n => n.Status == NotificationStatus.Pending && n.NextAttemptAt < cutoff, cancellationToken);
            if (stuckWebhooks == 0 && stuckPushes == 0)
            {
                return HealthCheckResult.Healthy("Inbox and outbox are moving.");
            }

            return HealthCheckResult.Unhealthy($"{stuckWebhooks} webhook(s) and {stuckPushes} push(es) waiting longer than {options.Value.BacklogThreshold}.");
        }
    }
}
