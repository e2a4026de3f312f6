using System.Net;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Configuration;

/// <summary>The real process starting: its commands, liveness during migrations, and the bad starts that end in one line.</summary>
public sealed class ServiceStartTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("appointment-chat-start-").FullName;

    private Dictionary<string, string?> Production() => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        ["JWT_SECRET"] = new string('k', 40),
        ["STREAM_API_KEY"] = "key",
        ["STREAM_API_SECRET"] = "secret-value-never-printed",
        ["Storage__DataFolder"] = _folder,
    };

    [Fact]
    public async Task HelpPrintsUsageAndAnUnknownCommandIsRefusedWithoutStartingAServer()
    {
        await using (var help = ServiceProcess.Start(Production(), _folder, "--help"))
        {
            Assert.Equal(0, await help.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("migrate", help.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("healthcheck", help.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("docs/settings.md", help.StandardOutput, StringComparison.Ordinal);
        }

        await using var unknown = ServiceProcess.Start(Production(), _folder, "frobnicate");
        Assert.Equal(2, await unknown.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.StartsWith("Unknown command 'frobnicate'", Assert.Single(Lines(unknown.StandardError)), StringComparison.Ordinal);
        Assert.Equal("", unknown.StandardOutput.Trim());
    }

    [Theory]
    [InlineData("Chat__TokenLifetime", "banana", "Configuration error: Chat__TokenLifetime is not a duration")]
    [InlineData("Webhooks__MaxAttempts", "abc", "Configuration error: Webhooks__MaxAttempts is not a whole number")]
    [InlineData("REDIS_URL", "http://x:y:z", "Configuration error: REDIS_URL is not a Redis URL")]
    [InlineData("Database__UseSqlite", null, "Configuration error: DATABASE_URL is not set: outside Development")]
    [InlineData("STREAM_API_KEY", null, "Configuration error: STREAM_API_KEY is not set")]
    [InlineData("DATABASE_URL", "postgres://chat:hunter2@127.0.0.1:1/chat", "Database error: PostgreSQL 127.0.0.1:1/chat as chat cannot be migrated")]
    [InlineData("ASPNETCORE_URLS", "banana", "Start-up error: ASPNETCORE_URLS: Invalid url")]
    public async Task ABadStartEndsInOneLineAndExitCodeOne(string setting, string? value, string line)
    {
        var environment = Production();
        environment[setting] = value;

        await using var service = ServiceProcess.Start(environment, _folder);

        Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.StartsWith(line, Assert.Single(Lines(service.StandardError)), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", service.StandardError + service.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", service.StandardError + service.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APortInUseEndsInOneLineAndExitCodeOne()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var environment = Production();
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        await using var service = ServiceProcess.Start(environment, _folder);

        Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("address already in use", Assert.Single(Lines(service.StandardError)), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", service.StandardError + service.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LivenessAnswersWhileTheDatabaseWaitsForTheMigrateCommandAndTheServiceStartsOnceItHasRun()
    {
        var environment = Production();
        environment["Database__MigrateAtStart"] = "false";
        environment["STREAM_API_KEY"] = null; // the built-in emulator: ready without reaching Stream
        environment["STREAM_API_SECRET"] = null;
        environment["Stream__UseEmulator"] = "true";
        var port = ServiceProcess.FreePort();
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        var elsewhere = Directory.CreateTempSubdirectory("appointment-chat-cwd-").FullName; // not the app's folder
        await using var service = ServiceProcess.Start(environment, elsewhere);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        await WaitUntilAsync(async () => await Status(http, "health/live") == HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Status(http, "health/ready"));
        var early = await http.PostAsync("api/chat/token", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
        Assert.Equal("5", early.Headers.RetryAfter?.ToString());
        Assert.Equal("service-unavailable", (await early.Content.ReadAsStringAsync()).Split("\"code\":\"")[1].Split('"')[0]);
        Assert.Equal(0, await CommandAsync(environment, "healthcheck"));
        Assert.Equal(1, await CommandAsync(environment, "healthcheck", "--ready"));

        Assert.Equal(0, await CommandAsync(environment, "migrate"));

        await WaitUntilAsync(async () => await Status(http, "health/ready") == HttpStatusCode.OK);
        await WaitUntilAsync(async () => await Status(http, "api/chat/token") != HttpStatusCode.ServiceUnavailable);
        Assert.Equal(0, await CommandAsync(environment, "healthcheck", "--ready"));
        var log = service.StandardOutput;
        Assert.Contains($"Database: SQLite file {Path.Combine(_folder, "appointment-chat.db")}", log, StringComparison.Ordinal);
        Assert.Contains("Stream: no STREAM_API_KEY, so the built-in emulator serves the Stream API at", log, StringComparison.Ordinal);
        // The app's own appsettings.json is read though started elsewhere: no per-request lines at Information.
        Assert.DoesNotContain("Request starting", log, StringComparison.Ordinal);
    }

    private async Task<int> CommandAsync(Dictionary<string, string?> environment, params string[] args)
    {
        await using var command = ServiceProcess.Start(environment, _folder, args);
        return await command.WaitForExitAsync(TimeSpan.FromSeconds(60));
    }

    private static async Task<HttpStatusCode> Status(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(100);
        }
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
