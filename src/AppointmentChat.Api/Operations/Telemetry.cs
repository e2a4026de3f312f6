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
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section);
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

        // Spans only where they go somewhere: recording them with no exporter cost the token endpoint
        // a sixth of its throughput (bench/findings.md).
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

    private static bool PrometheusEnabled(IServiceProvider services) =>
        services.GetRequiredService<IOptions<TelemetryOptions>>().Value.Prometheus ?? services.GetRequiredService<IHostEnvironment>().IsDevelopment();

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

/// <summary>A span for each EF Core command, whichever database: the statement, never its parameter values.</summary>
internal sealed class DatabaseSpans : DbCommandInterceptor
{
    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Start(command);
        return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Start(command);
        return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Start(command);
        return base.ScalarExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Stop(command);
        return base.ReaderExecutedAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Stop(command);
        return base.NonQueryExecutedAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        Stop(command);
        return base.ScalarExecutedAsync(command, eventData, result, cancellationToken);
    }

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        if (Take(command) is { } activity)
        {
            activity.SetStatus(ActivityStatusCode.Error, eventData.Exception.GetType().Name);
            activity.Dispose();
        }

        return base.CommandFailedAsync(command, eventData, cancellationToken);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbCommand, Activity> Spans = [];

    private static void Start(DbCommand command)
    {
        // Nothing to do, and nothing spent, unless a tracer listens (only with an OTLP exporter).
        if (!ChatMetrics.Activities.HasListeners())
        {
            return;
        }

        var system = command is Npgsql.NpgsqlCommand ? "postgresql" : "sqlite";
        var activity = ChatMetrics.Activities.StartActivity("db " + system, ActivityKind.Client);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("db.system", system);
        activity.SetTag("db.statement", command.CommandText);
        Spans.AddOrUpdate(command, activity);
    }

    private static void Stop(DbCommand command) => Take(command)?.Dispose();

    private static Activity? Take(DbCommand command)
    {
        if (!Spans.TryGetValue(command, out var activity))
        {
            return null;
        }

        Spans.Remove(command);
        return activity;
    }
}
