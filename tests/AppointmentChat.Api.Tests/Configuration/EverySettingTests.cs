using System.Collections;
using System.Reflection;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Tests.Configuration;

/// <summary>
/// Every setting, given a bad value, stops the service with one line naming it. The table below has a row for every
/// property of every options class (read by reflection, so a new setting without a row fails
/// <see cref="EverySettingOfEveryOptionsClassHasARow"/>); each row is checked in process through the service's own
/// start-up validation (the same <c>HasValidSettings</c> the real process runs, which ServiceStartTests runs for a few).
/// </summary>
public sealed class EverySettingTests : IDisposable
{
    private static readonly string ServiceAccountFile = Path.Combine(Path.GetTempPath(), "appointment-chat-settings-service-account.json");

    private readonly string _folder = Directory.CreateTempSubdirectory("appointment-chat-settings-").FullName;

    public EverySettingTests() =>
        File.WriteAllText(ServiceAccountFile, """{"client_email":"push@example.iam.gserviceaccount.com","private_key":"key","token_uri":"https://oauth2.example.com/token"}""");

    /// <summary>A bad value for each setting, and the name the failure line must carry when it is not the setting's own.</summary>
    public static readonly TheoryData<string, string, string?> BadValues = new()
    {
        { "STREAM_API_KEY", " ", "STREAM_API_KEY" },
        { "STREAM_API_SECRET", "", "STREAM_API_SECRET" },
        { "STREAM_CHAT_URL", "ftp://stream.example.com", "STREAM_CHAT_URL" },
        { "JWT_SECRET", "short", "JWT_SECRET" },
        { "DATABASE_URL", "postgres://user:pw@[not-a-host/db", "DATABASE_URL" },
        { "REDIS_URL", "http://x:y:z", "REDIS_URL" },
        { "Storage__DataFolder", "\0", "Storage__DataFolder" },
        { "Stream__EmulatorPublicUrl", "not a url", null },
        { "Stream__UseEmulator", "perhaps", null },
        { "Stream__AttemptTimeout", "banana", null },
        { "Stream__TotalTimeout", "00:00:01", "Stream__AttemptTimeout" },
        { "Stream__MaxRetries", "11", null },
        { "Stream__RetryBaseDelay", "banana", null },
        { "Stream__RateLimits__SendMessage", "0", "Stream__RateLimits__<endpoint>" },
        { "Stream__PacedShare", "1.5", null },
        { "Auth__Issuer", " ", null },
        { "Auth__Audience", " ", null },
        { "Auth__Authority", "https://issuer.example.com", null }, // with JWT_SECRET: either, not both
        { "Auth__UserIdClaim", " ", null },
        { "Auth__RoleClaim", " ", null },
        { "Auth__OrganisationClaim", " ", null },
        { "Auth__ClockSkew", "banana", null },
        { "Database__MigrateAtStart", "perhaps", null },
        { "Database__UseSqlite", "perhaps", null },
        { "Chat__TokenLifetime", "banana", null },
        { "Chat__TokenBackdate", "01:00:00", null },
        { "Chat__SystemUserId", "", null },
        { "Chat__SystemUserName", "", null },
        { "Chat__DefaultActivationMinutes", "abc", null },
        { "Chat__CloseGraceMinutes", "abc", null },
        { "Chat__KeepOpenAfterCompletion", "perhaps", null },
        { "Chat__EndMessage", "", null },
        { "Chat__Language", "fr", null },
        { "Chat__TimeZones__clinic-1", "Mars/Olympus", null },
        { "Chat__SchedulerPollInterval", "banana", null },
        { "RateLimiting__Token__PermitLimit", "abc", null },
        { "RateLimiting__Token__WindowSeconds", "0", "RateLimiting__Token" },
        { "RateLimiting__FailedAuthentication__PermitLimit", "abc", null },
        { "RateLimiting__FailedAuthentication__WindowSeconds", "0", "RateLimiting__FailedAuthentication" },
        { "Cors__AllowedOrigins__0", "*", "Cors__AllowedOrigins" },
        { "Webhooks__MaxBodyBytes", "abc", null },
        { "Webhooks__MaxAttempts", "abc", null },
        { "Webhooks__FirstRetryDelay", "banana", null },
        { "Webhooks__MaxRetryDelay", "banana", null },
        { "Webhooks__PollInterval", "banana", null },
        { "Webhooks__CatchUpInterval", "00:00:01", null },
        { "Webhooks__CatchUpPushWindow", "13:00:00", null },
        { "Webhooks__CatchUpOverlap", "02:00:00", null },
        { "Webhooks__CatchUpFirstLookback", "banana", null },
        { "Webhooks__CatchUpMaxLookback", "31.00:00:00", null },
        { "Webhooks__GatherDelay", "00:00:05", null },
        { "Retention__Webhooks", "00:10:00", null },
        { "Retention__DeadWebhooks", "banana", null },
        { "Retention__Notifications", "banana", null },
        { "Retention__TranscriptCallbacks", "3651.00:00:00", null },
        { "Retention__SweepInterval", "banana", null },
        { "Push__Fcm__ProjectId", "project", "Push__Fcm__ProjectId" },
        { "Push__Fcm__ServiceAccountFile", ServiceAccountFile, "Push__Fcm__ServiceAccountFile" }, // a good file, without the project
        { "Push__Fcm__BaseUrl", "not a url", null },
        { "Push__IncludePreview", "perhaps", null },
        { "Push__PreviewLength", "abc", null },
        { "Push__MaxDevicesPerUser", "abc", null },
        { "Push__MaxAttempts", "abc", null },
        { "Push__FirstRetryDelay", "banana", null },
        { "Push__MaxRetryDelay", "banana", null },
        { "Push__PollInterval", "banana", null },
        { "Transcripts__Organisations__clinic-1__CallbackUrl", "http://pms.example.com/transcripts", null }, // https only, but to loopback
        { "Transcripts__Organisations__clinic-1__Secret", "too-short", null },
        { "Transcripts__MaxAttempts", "0", null },
        { "Transcripts__FirstRetryDelay", "banana", null },
        { "Transcripts__MaxRetryDelay", "2.00:00:00", null },
        { "Transcripts__PollInterval", "00:00:00", null },
        { "Transcripts__CallbackTimeout", "00:10:00", null },
        { "Workers__LeaseDuration", "banana", null },
        { "Docs__Enabled", "perhaps", null },
        { "Telemetry__Prometheus", "perhaps", null },
        { "Health__BacklogThreshold", "banana", null },
        { "Health__StreamTimeout", "banana", null },
        { "Health__DependencyCheckInterval", "02:00:00", null },
        { "RateLimiting__Redis__Timeout", "00:00:30", null },
        { "RateLimiting__Redis__BreakDuration", "banana", null },
        { "Telemetry__SampleInterval", "00:00:00", null },
        { "Telemetry__OverdueAfter", "2.00:00:00", null },
    };

    /// <summary>Properties of options classes that are not settings: what the service works out for itself, or another name's home.</summary>
    private static readonly Dictionary<string, string> NotSettings = new(StringComparer.Ordinal)
    {
        ["Stream__ApiKey"] = "STREAM_API_KEY",
        ["Stream__ApiSecret"] = "STREAM_API_SECRET",
        ["Stream__BaseUrl"] = "STREAM_CHAT_URL",
        ["Auth__JwtSecret"] = "JWT_SECRET",
        ["Auth__UsesDevelopmentKey"] = "worked out at start",
        ["Database__Provider"] = "worked out from DATABASE_URL",
        ["Database__ConnectionString"] = "worked out from DATABASE_URL",
        ["Database__Error"] = "worked out from DATABASE_URL",
    };

    [Fact]
    public void EverySettingOfEveryOptionsClassHasARow()
    {
        var rows = BadValues.Select(row => row.Data.Item1).ToHashSet(StringComparer.Ordinal);
        var missing = OptionsSettings().Where(setting => !NotSettings.ContainsKey(setting) && !rows.Any(row => Covers(row, setting))).ToList();

        Assert.True(missing.Count == 0, "Settings without a bad-value row: " + string.Join(", ", missing));
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public void ABadValueStopsTheServiceWithOneLineNamingTheSetting(string setting, string value, string? named)
    {
        var failures = StartUpFailures(new Dictionary<string, string?> { [setting] = value });

        var line = Assert.Single(failures);
        Assert.Contains(named ?? setting, line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
    }

    [Fact]
    public void TheBaseSettingsOfTheseTestsAreValid() => Assert.Empty(StartUpFailures([]));

    /// <summary>The lines the service prints at start (each after <c>Configuration error: </c>), from its own validation.</summary>
    private List<string> StartUpFailures(Dictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["JWT_SECRET"] = TestJwt.Secret,
            ["STREAM_API_KEY"] = "key",
            ["STREAM_API_SECRET"] = "secret",
            ["Database:UseSqlite"] = "true",
            ["Storage:DataFolder"] = _folder,
        };
        foreach (var (key, value) in settings)
        {
            all[key.Replace("__", ":", StringComparison.Ordinal)] = value;
        }

        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Production");
            web.ConfigureAppConfiguration(config => config.AddInMemoryCollection(all));
        });
        try
        {
            factory.Services.GetRequiredService<IStartupValidator>().Validate();
            return [];
        }
        catch (Exception ex)
        {
            var failures = ServiceDefaults.ConfigurationFailures(ex);
            Assert.True(failures.Count > 0, $"not a configuration failure: {ex}");
            return failures;
        }
    }

    private static bool Covers(string row, string setting) =>
        row == setting || (setting.EndsWith("__<key>", StringComparison.Ordinal) && row.StartsWith(setting[..^"<key>".Length], StringComparison.Ordinal));

    /// <summary>Section__Property for every public settable property of every options class (nested classes flattened; maps and lists as __&lt;key&gt;).</summary>
    private static IEnumerable<string> OptionsSettings()
    {
        var types = typeof(Program).Assembly.GetTypes()
            .Where(t => t.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true });
        foreach (var type in types)
        {
            var section = (string)type.GetField("Section")!.GetRawConstantValue()!;
            var options = type.Name == "DatabaseOptionsSetup" ? typeof(Program).Assembly.GetType("AppointmentChat.Api.Data.DatabaseOptions")! : type;
            foreach (var setting in Settings(section, options))
            {
                yield return setting;
            }
        }
    }

    private static IEnumerable<string> Settings(string prefix, Type type)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var name = $"{prefix}__{property.Name}";
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (propertyType.IsPrimitive || propertyType.IsEnum || propertyType == typeof(string) || propertyType == typeof(TimeSpan) || propertyType == typeof(decimal))
            {
                yield return name;
            }
            else if (typeof(IEnumerable).IsAssignableFrom(propertyType))
            {
                yield return $"{name}__<key>";
            }
            else
            {
                foreach (var nested in Settings(name, propertyType))
                {
                    yield return nested;
                }
            }
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
