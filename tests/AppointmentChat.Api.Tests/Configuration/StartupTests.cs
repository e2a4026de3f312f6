using System.Net;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Configuration;

/// <summary>The real process: what it refuses to start with, and the dev-token command.</summary>
public sealed class StartupTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("appointment-chat-startup-").FullName;

    private Dictionary<string, string?> Production(string? jwtSecret) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        ["JWT_SECRET"] = jwtSecret,
        ["STREAM_API_KEY"] = "key",
        ["STREAM_API_SECRET"] = "secret-value-never-printed",
        ["Storage__DataFolder"] = _folder,
    };

    [Fact]
    public async Task AJwtSecretShorterThan32BytesStopsTheServiceWithOneClearLine()
    {
        await using var service = ServiceProcess.Start(Production("too-short"), _folder);

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        var lines = service.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("JWT_SECRET must be at least 32 bytes", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("too-short", service.StandardError + service.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OutsideDevelopmentMissingAuthSettingsStopTheService()
    {
        await using var service = ServiceProcess.Start(Production(null), _folder);

        Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("JWT_SECRET", service.StandardError, StringComparison.Ordinal);
        Assert.Contains("Auth__Authority", service.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryInvalidSettingIsReportedOnItsOwnLineWithoutEchoingSecrets()
    {
        var environment = Production(null);
        environment["STREAM_API_SECRET"] = null;
        environment["DATABASE_URL"] = "postgres://user:hunter2-secret@[not-a-host/db";
        environment["Chat__TokenLifetime"] = "00:00:01";
        environment["Webhooks__GatherDelay"] = "00:00:05";
        environment["Retention__Webhooks"] = "00:10:00";

        await using var service = ServiceProcess.Start(environment, _folder);

        Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var errors = service.StandardError;
        Assert.Contains("JWT_SECRET", errors, StringComparison.Ordinal);
        Assert.Contains("STREAM_API_SECRET", errors, StringComparison.Ordinal);
        Assert.Contains("DATABASE_URL", errors, StringComparison.Ordinal);
        Assert.Contains("Chat__TokenLifetime", errors, StringComparison.Ordinal);
        Assert.Contains("Webhooks__GatherDelay", errors, StringComparison.Ordinal);
        Assert.Contains("Retention__Webhooks must be between 1.00:00:00 and 3650.00:00:00", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", errors + service.StandardOutput, StringComparison.Ordinal);
        Assert.All(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("Configuration error: ", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOrganisationsTimeZoneThatIsNoIanaZoneStopsTheServiceNamingTheSetting()
    {
        var environment = Production(new string('k', 40));
        environment["Chat__TimeZones__clinic-1"] = "Europe/London";
        environment["Chat__TimeZones__clinic-2"] = "Europe/Lundon";
        environment["Chat__TimeZones__clinic-3"] = "GMT Standard Time";

        await using var service = ServiceProcess.Start(environment, _folder);

        Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var errors = service.StandardError;
        Assert.Contains("Chat__TimeZones__clinic-2 is 'Europe/Lundon', which is not an IANA time zone id", errors, StringComparison.Ordinal);
        Assert.Contains("Chat__TimeZones__clinic-3 is 'GMT Standard Time', which is not an IANA time zone id", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("clinic-1", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HalfAnFcmConfigurationOrAMissingServiceAccountFileStopsTheService()
    {
        var environment = Production(new string('k', 40));
        environment["Push__Fcm__ProjectId"] = "project";
        await using (var half = ServiceProcess.Start(environment, _folder))
        {
            Assert.Equal(1, await half.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("Push__Fcm__ProjectId and Push__Fcm__ServiceAccountFile go together", half.StandardError, StringComparison.Ordinal);
        }

        environment["Push__Fcm__ServiceAccountFile"] = Path.Combine(_folder, "missing.json");
        await using var missing = ServiceProcess.Start(environment, _folder);
        Assert.Equal(1, await missing.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("missing.json' does not exist", missing.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDevTokenCommandPrintsABearerTokenTheDevelopmentServiceAccepts()
    {
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Storage__DataFolder"] = _folder,
        };
        await using var command = ServiceProcess.Start(environment, _folder, "dev-token", "--user", "vet-1", "--role", "vet", "--org", "clinic-1");
        Assert.Equal(0, await command.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var bearer = command.StandardOutput.Trim();
        Assert.Equal(3, bearer.Split('.').Length);
        var claims = TestJwt.DecodePart(bearer, 1);
        Assert.Equal("vet-1", claims.GetProperty("sub").GetString());
        Assert.Equal("vet", claims.GetProperty("role").GetString());
        Assert.Equal("clinic-1", claims.GetProperty("org").GetString());

        // The service in Development with no JWT_SECRET uses the same generated key from the same data folder.
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["JWT_SECRET"] = null,
            ["Storage:DataFolder"] = _folder,
        });
        var response = await app.ClientWithToken(bearer).PostJsonAsync("/api/chat/token", new { userId = "vet-1" });
        await response.ShouldBeOkJsonAsync();

        // A token signed with anything else is still refused.
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.ClientFor("vet-1", "vet").PostJsonAsync("/api/chat/token", new { })).StatusCode);
    }

    [Fact]
    public async Task TheDevTokenCommandRejectsAnUnknownRole()
    {
        await using var command = ServiceProcess.Start(new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Development", ["Storage__DataFolder"] = _folder }, _folder,
            "dev-token", "--user", "x", "--role", "root");

        Assert.Equal(2, await command.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Unknown role 'root'", command.StandardError, StringComparison.Ordinal);
        Assert.Equal("", command.StandardOutput.Trim());
    }

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

public sealed class DatabaseUrlTests
{
    [Theory]
    [InlineData("postgres://chat:p%40ss@db.internal:6543/appointments?sslmode=require", "Host=db.internal;Port=6543;Database=appointments;Username=chat;Password=p@ss;SSL Mode=Require;Maximum Pool Size=20;Max Auto Prepare=64;No Reset On Close=true")]
    [InlineData("postgresql://chat@localhost/appointments", "Host=localhost;Port=5432;Database=appointments;Username=chat;Maximum Pool Size=20;Max Auto Prepare=64;No Reset On Close=true")]
    [InlineData("postgres://chat@localhost/appointments?Maximum%20Pool%20Size=50&Max%20Auto%20Prepare=0&No%20Reset%20On%20Close=false", "Host=localhost;Port=5432;Database=appointments;Username=chat;Maximum Pool Size=50;Max Auto Prepare=0;No Reset On Close=false")]
    [InlineData("Host=db;Database=appointments;Username=chat;Password=x", "Host=db;Database=appointments;Username=chat;Password=x;Maximum Pool Size=20;Max Auto Prepare=64;No Reset On Close=true")]
    [InlineData("Host=db;Database=appointments;Maximum Pool Size=5;Max Auto Prepare=0;No Reset On Close=false", "Host=db;Database=appointments;Maximum Pool Size=5;Max Auto Prepare=0;No Reset On Close=false")]
    public void DatabaseUrlIsAcceptedInUrlAndKeywordForm(string url, string expected)
    {
        var actual = new Npgsql.NpgsqlConnectionStringBuilder(DatabaseOptionsSetup.PostgresConnectionString(url));

        Assert.True(new Npgsql.NpgsqlConnectionStringBuilder(expected).EquivalentTo(actual), actual.ConnectionString);
    }

    [Theory]
    [InlineData("Host=db;Database=appointments;SSL Mode=Require",
        "Host=db;Database=appointments;SSL Mode=Require;Maximum Pool Size=6;Max Auto Prepare=64;Auto Prepare Min Usages=1;Multiplexing=true;No Reset On Close=true;Options=-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0")]
    [InlineData("Host=db;Database=appointments;Maximum Pool Size=2;Minimum Pool Size=4;Options=-c search_path=chat",
        "Host=db;Database=appointments;Maximum Pool Size=2;Minimum Pool Size=2;Max Auto Prepare=64;Auto Prepare Min Usages=1;Multiplexing=true;No Reset On Close=true;Options=-c search_path=chat -c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0")]
    [InlineData("Host=db;Database=appointments;Max Auto Prepare=4",
        "Host=db;Database=appointments;Maximum Pool Size=6;Max Auto Prepare=33;Auto Prepare Min Usages=1;Multiplexing=true;No Reset On Close=true;Options=-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0")]
    [InlineData("Host=db;Database=appointments;Max Auto Prepare=0",
        "Host=db;Database=appointments;Maximum Pool Size=6;Max Auto Prepare=0;Auto Prepare Min Usages=1;Multiplexing=true;No Reset On Close=true;Options=-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0")]
    public void TheChatReadsUseTheServiceConnectionMultiplexedOnAFewConnectionsWithGenericPlansAndNoParallelWorkers(string databaseUrl, string expected)
    {
        var actual = new Npgsql.NpgsqlConnectionStringBuilder(PostgresChatReads.ConnectionString(DatabaseOptionsSetup.PostgresConnectionString(databaseUrl)));

        Assert.True(new Npgsql.NpgsqlConnectionStringBuilder(expected).EquivalentTo(actual), actual.ConnectionString);
    }
}
