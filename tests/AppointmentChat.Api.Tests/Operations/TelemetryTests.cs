using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>Traces as an OTLP collector receives them: the app's own tracer provider, its spans kept in memory as well.</summary>
public sealed class TracingTests
{
    private static async Task<(ChatApp App, ConcurrentQueue<Activity> Spans)> StartTracedAsync(DatabaseKind kind)
    {
        var spans = new ConcurrentQueue<Activity>();
        var app = await ChatApp.StartAsync(kind, new Dictionary<string, string?>
        {
            // Switches tracing on; nothing listens there, and the spans are read from the in-memory exporter.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9",
        }, services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(new SimpleActivityExportProcessor(new QueueExporter(spans)))));
        return (app, spans);
    }

    private static string DatabaseName(ChatApp app) => new NpgsqlConnectionStringBuilder(app.Database.DatabaseUrl).Database!;

    [Fact]
    public async Task EveryPostgresCommandOfARequestIsASpanWithTheStandardDatabaseAttributes()
    {
        await TestDatabase.RequirePostgresAsync();
        var (app, spans) = await StartTracedAsync(DatabaseKind.Postgres);
        await using var _ = app;
        var s = Scenario.New();
        (await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddDays(1)))).EnsureSuccessStatusCode();

        // The chat list on PostgreSQL is read by raw Npgsql commands on their own pool (PostgresChatReads), not EF Core.
        (await app.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).EnsureSuccessStatusCode();

        // Every app of the test process shares its activity sources: another test's requests and commands are exported here
        // too. This app's are told by its port (requests) and its database (commands).
        var port = app.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        bool Ours(Activity request, string name) =>
            request.Kind == ActivityKind.Server && request.DisplayName == name && request.GetTagItem("server.port")?.ToString() == port;
        Activity? list = null;
        await Eventually.TrueAsync(() => (list = spans.FirstOrDefault(a => Ours(a, "GET /api/chat/channels/"))) is not null, "the request's span");
        // The list's reads are multiplexed commands on their own pool (PostgresChatReads), in the request's trace.
        List<Activity> queries = [];
        await Eventually.TrueAsync(
            () => (queries = [.. spans.Where(a => a.Source.Name == "Npgsql" && a.TraceId == list!.TraceId)]).Any(
                q => (q.GetTagItem("db.query.text") as string)?.Contains("\"LastActivityAt\"", StringComparison.Ordinal) == true),
            "the list's PostgreSQL commands in its trace");
        Assert.All(queries, q =>
        {
            Assert.Equal("postgresql", q.GetTagItem("db.system.name"));
            Assert.Equal(DatabaseName(app), q.GetTagItem("db.namespace"));
            Assert.Equal(ActivityKind.Client, q.Kind);
        });
        Assert.Contains(queries, q => (q.GetTagItem("db.query.text") as string)?.Contains("appointments", StringComparison.Ordinal) == true);

        // EF Core's commands (the appointment's write) are Npgsql's spans too, each once: the service adds none of its own.
        var write = spans.Single(a => Ours(a, "PUT /api/appointments/{appointmentId}"));
        Assert.Contains(spans, a => a.TraceId == write.TraceId && a.Source.Name == "Npgsql" && a.GetTagItem("db.namespace") as string == DatabaseName(app));
        Assert.DoesNotContain(spans, a => a.Source.Name == "AppointmentChat" && a.GetTagItem("db.system.name") is not null && a.TraceId == write.TraceId);
    }

    [Fact]
    public async Task EachSchedulerPassIsARootSpanHoldingItsDatabaseCommands()
    {
        await TestDatabase.RequirePostgresAsync();
        var (app, spans) = await StartTracedAsync(DatabaseKind.Postgres);
        await using var _ = app;

        // The pass at start: a trace of its own, its queries inside it.
        bool IsOurs(Activity pass) => spans.Any(a => a.TraceId == pass.TraceId && a.Source.Name == "Npgsql" && a.GetTagItem("db.namespace") as string == DatabaseName(app));
        Activity? pass = null;
        await Eventually.TrueAsync(() => (pass = spans.FirstOrDefault(a => a.Source.Name == "AppointmentChat" && a.DisplayName == "schedule chats" && IsOurs(a))) is not null, "a scheduler pass with its queries");

        Assert.Equal(default, pass!.ParentSpanId);
        Assert.Equal(ActivityKind.Internal, pass.Kind);
        var queries = spans.Where(a => a.TraceId == pass.TraceId && a.Source.Name == "Npgsql").ToList();
        Assert.All(queries, q => Assert.Equal(pass.SpanId, q.ParentSpanId));
        Assert.Contains(queries, q => (q.GetTagItem("db.query.text") as string)?.Contains("\"ChatSyncDue\"", StringComparison.Ordinal) == true);
    }

    private sealed class QueueExporter(ConcurrentQueue<Activity> spans) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var activity in batch)
            {
                spans.Enqueue(activity);
            }

            return ExportResult.Success;
        }
    }
}

/// <summary>The gauges at /metrics (they run alone: every app's exporter reads every app's AppointmentChat meter).</summary>
[Collection(nameof(ProcessWideMetrics))]
public sealed class WorkGaugeTests
{
    private static readonly Type[] BusyWorkers = [typeof(ChatScheduler), typeof(WebhookProcessor), typeof(PushDispatcher)];

    public static TheoryData<DatabaseKind> Databases => [DatabaseKind.Sqlite, DatabaseKind.Postgres];

    [Theory]
    [MemberData(nameof(Databases))]
    public async Task MetricsShowWaitingAndDeadWorkAndOverdueChatsAsTheDatabaseHoldsThem(DatabaseKind kind)
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        // Nothing moves the work along here (the workers are left out), so the gauges must show it as stored.
        await using var app = await ChatApp.StartAsync(kind, new Dictionary<string, string?>
        {
            ["Telemetry:SampleInterval"] = "00:00:01",
            ["Telemetry:OverdueAfter"] = "00:01:00",
        }, services => services.RemoveWorkers(BusyWorkers));
        for (var i = 0; i < 3; i++)
        {
            await (await app.AnonymousClient().SendAsync(StreamWebhook.Request("""{"type":"custom.event"}""", Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        }

        var late = Scenario.New();
        var failing = Scenario.New();
        foreach (var s in new[] { late, failing })
        {
            (await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddDays(1)))).EnsureSuccessStatusCode();
        }

        var now = DateTimeOffset.UtcNow;
        // What the workers would have left behind: a webhook given up, a push queued, a transcript callback given up, a chat whose opening is 10 minutes
        // late, and one whose last attempt at Stream failed (retried in a minute).
        await app.InDatabaseAsync(async db =>
        {
            var first = await db.Set<InboxEvent>().MinAsync(e => e.Id);
            await db.Set<InboxEvent>().Where(e => e.Id == first).ExecuteUpdateAsync(set => set.SetProperty(e => e.Status, InboxStatus.Dead));
            db.Add(new Notification { DedupKey = Guid.NewGuid().ToString(), RecipientUserId = late.PetOwnerId, Title = "t", Body = "b", AppointmentId = late.AppointmentId, ChannelId = late.ChannelId, CreatedAt = now, NextAttemptAt = now });
            db.Add(new AppointmentChat.Api.Transcripts.TranscriptCallback { AppointmentId = late.AppointmentId, ChannelId = late.ChannelId, OrganisationId = late.Org, Status = AppointmentChat.Api.Transcripts.TranscriptCallbackStatus.Failed, Attempts = 8, CreatedAt = now, NextAttemptAt = now });
            await db.SaveChangesAsync();
            await db.Set<Chat>().Where(c => c.AppointmentId == late.AppointmentId).ExecuteUpdateAsync(set => set.SetProperty(c => c.SyncDue, now.AddMinutes(-10)));
            return await db.Set<Chat>().Where(c => c.AppointmentId == failing.AppointmentId)
                .ExecuteUpdateAsync(set => set.SetProperty(c => c.SyncDue, now.AddMinutes(1)).SetProperty(c => c.SyncError, "Stream answered 503").SetProperty(c => c.SyncAttempts, 1));
        });

        string text = "";
        await Eventually.TrueAsync(async () =>
        {
            // A sample reads its counts one by one, and the writes are several: one taken while they land can show
            // some and not others, so the wait is for the first write's effect and the last's in one sample.
            text = await (await app.AnonymousClient().GetAsync("/metrics")).Content.ReadAsStringAsync();
            return Gauge(text, "chat_inbox_dead") == 1 && Gauge(text, "chat_outbox_depth") == 1 && Gauge(text, "chat_schedule_sync_errors") == 1
                && Gauge(text, "chat_schedule_overdue", "change=\"open\"") == 1;
        }, "a sample taken after the writes");

        Assert.Equal(2, Gauge(text, "chat_inbox_depth"));
        Assert.Equal(1, Gauge(text, "chat_inbox_dead"));
        Assert.Equal(0, Gauge(text, "chat_outbox_failed"));
        Assert.Equal(1, Gauge(text, "chat_transcripts_failed"));
        Assert.Equal(1, Gauge(text, "chat_schedule_overdue", "change=\"open\""));
        Assert.Equal(0, Gauge(text, "chat_schedule_overdue", "change=\"close\""));
        Assert.Equal(1, Gauge(text, "chat_schedule_sync_errors"));
        Assert.InRange(Gauge(text, "chat_schedule_lag_seconds"), 590, 700);
    }

    /// <summary>The value of a gauge in Prometheus text, the series with <paramref name="label"/> if given.</summary>
    private static double Gauge(string text, string name, string? label = null)
    {
        var series = Regex.Matches(text, $@"^{name}(\{{[^}}]*\}})? (\S+)", RegexOptions.Multiline)
            .Where(m => label is null || m.Groups[1].Value.Contains(label, StringComparison.Ordinal)).ToList();
        Assert.True(series.Count == 1, $"{name} {label}: {series.Count} series in\n{text}");
        return double.Parse(series[0].Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The resource every metric and span carries, as Prometheus shows it (<c>target_info</c>).</summary>
public sealed class TelemetryResourceTests
{
    private static async Task<string> TargetInfoAsync(ChatApp app)
    {
        var text = await (await app.AnonymousClient().GetAsync("/metrics")).Content.ReadAsStringAsync();
        return Assert.Single(text.Split('\n'), line => line.StartsWith("target_info{", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheServiceNamesItselfAndItsVersionUnlessOtelServiceNameOrResourceAttributesSayOtherwise()
    {
        var version = typeof(Program).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
        await using var plain = await ChatApp.StartAsync(DatabaseKind.Sqlite);
        await using var named = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = "vet-chat-eu",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=staging,service.version=2026.1",
        });

        var own = await TargetInfoAsync(plain);
        Assert.Contains("service_name=\"appointment-chat\"", own, StringComparison.Ordinal);
        Assert.Contains($"service_version=\"{version}\"", own, StringComparison.Ordinal);

        var configured = await TargetInfoAsync(named);
        Assert.Contains("service_name=\"vet-chat-eu\"", configured, StringComparison.Ordinal);
        Assert.Contains("deployment_environment_name=\"staging\"", configured, StringComparison.Ordinal);
        Assert.Contains("service_version=\"2026.1\"", configured, StringComparison.Ordinal);
    }
}
