using AppointmentChat.Api.Infrastructure;
using System.Data.Common;
using System.Diagnostics;
using System.Reflection;
using Npgsql;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AppointmentChat.Api.Operations;

/// <summary>Section <c>Telemetry</c>.</summary>
internal sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Serve Prometheus text at /metrics (default: in Development only).</summary>
    public bool? Prometheus { get; set; }

    /// <summary>How often the work gauges (queue depths, dead letters, overdue chats) are counted.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long after it was due a chat's change of state counts as overdue in <c>chat.schedule.overdue</c>.</summary>
    public TimeSpan OverdueAfter { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// OpenTelemetry traces and metrics: HTTP in and out, EF Core commands, runtime, and the service's own
/// counters. Exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; metrics also as Prometheus
/// text at /metrics where enabled. With neither, nothing is measured.
/// </summary>
internal static class Telemetry
{
    public const string ServiceName = "appointment-chat";
    public const string MetricsPath = "/metrics";

    /// <summary>The build's informational version (<c>service.version</c>).</summary>
    public static readonly string ServiceVersion =
        typeof(Telemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section)
            .Validate(o => o.SampleInterval >= TimeSpan.FromSeconds(1) && o.SampleInterval <= TimeSpan.FromHours(1), "Telemetry__SampleInterval must be between 00:00:01 and 01:00:00.")
            .Validate(o => o.OverdueAfter >= TimeSpan.Zero && o.OverdueAfter <= TimeSpan.FromDays(1), "Telemetry__OverdueAfter must be between 00:00:00 and 1.00:00:00.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ChatMetrics>();
        builder.Services.AddHostedService<WorkGauges>();
        var otel = builder.Services.AddOpenTelemetry()
            // The standard OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the service's own defaults: the SDK
            // reads them before this runs, so they are read again after it.
            .ConfigureResource(resource => resource
                .AddService(ServiceName, serviceVersion: ServiceVersion)
                .AddEnvironmentVariableDetector())
            .WithMetrics(metrics => metrics.AddPrometheusExporter());

        // Measured only where metrics go somewhere, decided on the final configuration: a listened-to instrument
        // costs every request (a request-duration histogram for one), an unlistened one nothing.
        builder.Services.ConfigureOpenTelemetryMeterProvider((services, metrics) =>
        {
            if (!MetricsExported(services))
            {
                return;
            }

            metrics
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics")
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter(ChatMetrics.MeterName, "Microsoft.EntityFrameworkCore");
        });

        // Spans only where they go somewhere: recording them with no exporter costs every request for nothing.
        if (OtlpEnabled(builder.Configuration))
        {
            otel.WithTracing(tracing => tracing
                    .AddAspNetCoreInstrumentation(options => options.Filter = http => !IsPlumbing(http.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddNpgsql() // every PostgreSQL command, EF Core's and the raw reads' alike
                    .AddSource(ChatMetrics.ActivitySourceName))
                .UseOtlpExporter();
        }

        return builder;
    }

    private static bool PrometheusEnabled(IServiceProvider services)
    {
        try
        {
            return services.GetRequiredService<IOptions<TelemetryOptions>>().Value.Prometheus ?? services.GetRequiredService<IHostEnvironment>().IsDevelopment();
        }
        catch (Exception invalid) when (invalid is InvalidOperationException or OptionsValidationException)
        {
            return false; // an unreadable or invalid telemetry setting: the start-up validation names it and stops the service
        }
    }

    /// <summary>Whether metrics go anywhere (Prometheus or OTLP): if not, nothing is measured.</summary>
    public static bool MetricsExported(IServiceProvider services) =>
        PrometheusEnabled(services) || OtlpEnabled(services.GetRequiredService<IConfiguration>());

    private static bool OtlpEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    public static WebApplication MapMetrics(this WebApplication app)
    {
        if (PrometheusEnabled(app.Services))
        {
            // Anonymous by design: outside Development it is on only when operators put it behind their network rules.
            app.MapPrometheusScrapingEndpoint(MetricsPath).AllowAnonymous();
        }

        return app;
    }

    private static bool IsPlumbing(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments(MetricsPath);
}
