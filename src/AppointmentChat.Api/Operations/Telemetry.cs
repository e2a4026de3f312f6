using AppointmentChat.Api.Infrastructure;
using System.Data.Common;
using System.Diagnostics;
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

    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<ChatMetrics>();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics => metrics.AddPrometheusExporter());

        // Measured only where metrics go somewhere, decided on the final configuration: a listened-to instrument
        // costs every request (a request-duration histogram for one), an unlistened one nothing.
        builder.Services.ConfigureOpenTelemetryMeterProvider((services, metrics) =>
        {
            if (!PrometheusEnabled(services) && !OtlpEnabled(services.GetRequiredService<IConfiguration>()))
            {
                return;
            }

            metrics
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics")
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(ChatMetrics.MeterName, "Microsoft.EntityFrameworkCore");
        });

        // Spans only where they go somewhere: recording them with no exporter costs every request for nothing.
        if (OtlpEnabled(builder.Configuration))
        {
            otel.WithTracing(tracing => tracing
                    .AddAspNetCoreInstrumentation(options => options.Filter = http => !IsPlumbing(http.Request.Path))
                    .AddHttpClientInstrumentation()
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
        catch (InvalidOperationException)
        {
            return false; // not true or false: the start-up validation names the setting and stops the service
        }
    }

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
