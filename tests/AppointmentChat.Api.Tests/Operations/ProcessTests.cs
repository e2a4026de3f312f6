using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>The service as deployed: a process in Production mode, its JSON logs, OTLP export, and SIGTERM.</summary>
public sealed class ProcessTests : IAsyncLifetime
{
    private const string JwtSecret = "process-test-jwt-secret-0123456789-abcdefgh";
    private readonly string _folder = Directory.CreateTempSubdirectory("appointment-chat-process-").FullName;
    private EmulatorHost _emulator = null!;

    public async ValueTask InitializeAsync() => _emulator = await EmulatorHost.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _emulator.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Dictionary<string, string?> Production() => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["JWT_SECRET"] = JwtSecret,
        ["STREAM_API_KEY"] = EmulatorHost.ApiKey,
        ["STREAM_API_SECRET"] = EmulatorHost.Secret,
        ["STREAM_CHAT_URL"] = _emulator.BaseUrl.ToString(),
        ["Storage__DataFolder"] = _folder,
    };

    private static HttpClient Client(ServiceProcess service, string? bearer) =>
        new() { BaseAddress = service.BaseAddress, DefaultRequestHeaders = { Authorization = bearer is null ? null : new AuthenticationHeaderValue("Bearer", bearer) } };

    private static string Jwt(string user, string? role = null, string? org = null, TimeSpan? lifetime = null, DateTimeOffset? now = null) =>
        TestJwt.Create(TestJwt.Claims(user, role is null ? [] : [role], org, lifetime ?? TimeSpan.FromHours(1), now), JwtSecret);

    [Fact]
    public async Task LogsAreOneJsonObjectPerLineWithRequestAndTraceIdsAndNeverASecretOrToken()
    {
        var environment = Production();
        environment["Logging__LogLevel__Default"] = "Debug";
        environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Debug";
        await using var service = await ServiceProcess.StartServiceAsync(environment, _folder);

        var vet = Jwt("vet-1", "vet", "clinic-1");
        var owner = Jwt("owner-1", "pet-owner");
        var pms = Jwt("pms", "service");
        var expired = Jwt("vet-1", "vet", now: DateTimeOffset.UtcNow.AddHours(-3));
        var tampered = vet[..^4] + "AAAA";
        string[] bearers = [vet, owner, pms, expired, tampered];

        var streamToken = (await (await Client(service, vet).PostAsJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync()).GetProperty("token").GetString()!;
        await Client(service, expired).PostAsJsonAsync("/api/chat/token", new { });
        await Client(service, tampered).PostAsJsonAsync("/api/chat/token", new { });
        await Client(service, owner).PostAsJsonAsync("/api/chat/token/revoke", new { });
        var s = Scenario.New();
        await Client(service, pms).PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddMinutes(2)));
        await Client(service, Jwt(s.PetOwnerId, "pet-owner")).PostAsJsonAsync("/api/chat/channels", new { appointmentId = s.AppointmentId });
        await Client(service, Jwt(s.VetId, "vet")).PostAsync($"/api/chat/channels/{s.ChannelId}/end", null);
        var webhook = """{"type":"custom.event"}""";
        var signature = StreamWebhook.Sign(System.Text.Encoding.UTF8.GetBytes(webhook), EmulatorHost.Secret);
        var signed = StreamWebhook.Request(webhook, Guid.NewGuid().ToString(), signature, EmulatorHost.ApiKey);
        await Client(service, null).SendAsync(signed);
        await Client(service, null).SendAsync(StreamWebhook.Request(webhook, Guid.NewGuid().ToString(), new string('a', 64), EmulatorHost.ApiKey));

        // Credentials in query strings, which request lines log whole: a Stream token as the SDK's WebSocket connect sends
        // it, and bearer tokens as some clients put them in the URL.
        await Client(service, null).GetAsync($"/stream/connect?json=%7B%7D&api_key=key&authorization={streamToken}&stream-auth-type=jwt");
        await Client(service, null).GetAsync($"/api/chat/channels?access_token={vet}");
        await Client(service, null).GetAsync($"/api/chat/config?token={owner}&x=1");

        service.Terminate();
        Assert.Equal(0, await service.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var output = service.StandardOutput + service.StandardError;
        var lines = service.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length > 50, $"only {lines.Length} log lines");
        var requestLines = 0;
        foreach (var line in lines)
        {
            var entry = JsonNode.Parse(line)!.AsObject(); // throws if a line is not one JSON object
            Assert.NotNull(entry["Timestamp"]);
            Assert.NotNull(entry["LogLevel"]);
            var scopes = entry["Scopes"]?.AsArray() ?? [];
            if (scopes.Any(scope => scope?["RequestPath"] is not null))
            {
                requestLines++;
                Assert.Contains(scopes, scope => scope?["RequestId"] is not null);
                Assert.Contains(scopes, scope => scope?["TraceId"] is not null);
            }
        }

        Assert.True(requestLines > 20, $"only {requestLines} lines written while handling requests");
        foreach (var secret in new[] { JwtSecret, EmulatorHost.Secret, streamToken, streamToken.Split('.')[2] }.Concat(bearers).Concat(bearers.Select(b => b.Split('.')[2])))
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("eyJhbGci", output, StringComparison.Ordinal);
        Assert.DoesNotContain(signature, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonLogTimestampsAreIso8601UtcWithNothingAfterTheZ()
    {
        await using var service = await ServiceProcess.StartServiceAsync(Production(), _folder);
        await Client(service, Jwt("vet-1", "vet")).PostAsJsonAsync("/api/chat/token", new { });
        service.Terminate();
        Assert.Equal(0, await service.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var lines = service.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var timestamp = JsonNode.Parse(line)!["Timestamp"]!.GetValue<string>();
            Assert.True(DateTimeOffset.TryParseExact(timestamp, "yyyy-MM-dd'T'HH:mm:ss.fffK", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var at), $"'{timestamp}' is not ISO 8601");
            Assert.Equal(TimeSpan.Zero, at.Offset);
            Assert.InRange(at, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        }
    }

    [Fact]
    public async Task WithAnOtlpEndpointTracesAndMetricsAreExported()
    {
        await using var collector = await RecordingServer.StartAsync();
        var environment = Production();
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url.ToString().TrimEnd('/');
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        environment["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        await using var service = await ServiceProcess.StartServiceAsync(environment, _folder);

        await Client(service, Jwt("vet-1", "vet")).PostAsJsonAsync("/api/chat/token", new { });
        await Client(service, Jwt("vet-1", "vet")).GetAsync("/api/chat/channels");

        string Exported(string path) => string.Concat(collector.Requests.Where(r => r.PathAndQuery == path).Select(r => System.Text.Encoding.Latin1.GetString(r.Body)));
        await Eventually.TrueAsync(() => Exported("/v1/traces").Contains("/api/chat/token", StringComparison.Ordinal) && Exported("/v1/metrics").Contains("chat.tokens.issued", StringComparison.Ordinal),
            "OTLP traces of the requests and the service's counters", TimeSpan.FromSeconds(20));
        Assert.All(collector.Requests, r => Assert.Equal("application/x-protobuf", r.Headers["Content-Type"]));
        Assert.Contains("appointment-chat", Exported("/v1/traces"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnSigtermInFlightWebhooksFinishAndEveryAcknowledgedOneIsKept()
    {
        await using var service = await ServiceProcess.StartServiceAsync(Production(), _folder);
        using var http = Client(service, null);
        var ids = Enumerable.Range(0, 300).Select(_ => Guid.NewGuid().ToString()).ToList();
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();

        // EmulatorHost.Secret is the secret the service was started with, so StreamWebhook signs as Stream would.
        var sending = Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, cancellationToken) =>
        {
            try
            {
                var response = await http.SendAsync(StreamWebhook.Request($$"""{"type":"custom.event","n":"{{id}}"}""", id, apiKey: EmulatorHost.ApiKey), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    acknowledged.Add(id);
                }
                else
                {
                    failures.Add($"{(int)response.StatusCode}");
                }
            }
            catch (HttpRequestException)
            {
                // refused once the server stopped listening: Stream would retry these
            }
        });
        await Eventually.TrueAsync(() => acknowledged.Count >= 50, "some webhooks acknowledged");
        service.Terminate();
        await sending;
        Assert.Equal(0, await service.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        Assert.Empty(failures);
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_folder, "appointment-chat.db")}");
        await connection.OpenAsync();
        await using var command = new SqliteCommand("SELECT \"DedupKey\" FROM webhook_inbox", connection);
        var stored = new HashSet<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored.Add(reader.GetString(0));
            }
        }

        Assert.All(acknowledged, id => Assert.Contains("id:" + id, stored));
    }
}
