using System.Net.Http.Headers;
using AppointmentChat.Api.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// The real service on Kestrel on a loopback port, with real settings: tests talk to it over HTTP
/// with signed JWTs, exactly as the apps do.
/// </summary>
public sealed class ChatApp : WebApplicationFactory<Program>
{
    public const string StreamSecret = "integration-tests-stream-secret-abcdef";
    public const string StreamApiKey = "test-api-key";

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    private readonly SocketsHttpHandler _handler = new() { PooledConnectionLifetime = TimeSpan.FromMinutes(1) };

    private ChatApp(TestDatabase database, Dictionary<string, string?> settings, Action<IServiceCollection>? services)
    {
        Database = database;
        _settings = settings;
        _services = services;
        Guard = new LeakGuard(_handler, [settings.GetValueOrDefault("JWT_SECRET"), settings.GetValueOrDefault("STREAM_API_SECRET")]);
        Logs.Observer = Guard.Inspect;
        UseKestrel(0);
    }

    /// <summary>Checks every response and log line of this app for secrets and tokens (see <see cref="LeakGuard"/>).</summary>
    public LeakGuard Guard { get; }

    public TestDatabase Database { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public LogCapture Logs { get; } = new();

    public static async Task<ChatApp> StartAsync(
        DatabaseKind kind,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        TestDatabase? database = null)
    {
        database ??= await TestDatabase.CreateAsync(kind);
        var all = new Dictionary<string, string?>
        {
            ["JWT_SECRET"] = TestJwt.Secret,
            ["STREAM_API_KEY"] = StreamApiKey,
            ["STREAM_API_SECRET"] = StreamSecret,
            ["STREAM_CHAT_URL"] = "http://127.0.0.1:9",
            ["Storage:DataFolder"] = database.Folder,
            ["DATABASE_URL"] = database.DatabaseUrl,
            ["Database:UseSqlite"] = "true", // tests run on SQLite in Production too
            // Every test calls from 127.0.0.1, many with tokens meant to fail: the limit on failed authentication per
            // address is tested on its own (FailedAuthenticationLimitTests).
            ["RateLimiting:FailedAuthentication:PermitLimit"] = "1000000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var app = new ChatApp(database, all, services);
        app.StartServer();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        app.BaseAddress = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        return app;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_settings.TryGetValue("ASPNETCORE_ENVIRONMENT", out var environment) && environment is not null ? environment : "Development");
        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(_settings));

        // Read while the app is being built (whether to trace at all), so it goes in as host configuration, seen from the start.
        if (_settings.TryGetValue("OTEL_EXPORTER_OTLP_ENDPOINT", out var otlp))
        {
            builder.UseSetting("OTEL_EXPORTER_OTLP_ENDPOINT", otlp);
        }
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        if (_services is not null)
        {
            builder.ConfigureServices(_services);
        }
    }

    /// <summary>An HTTP client (real sockets) that calls as <paramref name="userId"/> with a signed JWT.</summary>
    public HttpClient ClientFor(string userId, string? role = null, string? org = null) =>
        ClientWithToken(TestJwt.For(userId, role, org));

    /// <summary>The app's clock (a fake one in window tests). Callers' JWTs are checked against the wall clock.</summary>
    public DateTimeOffset Now => Services.GetRequiredService<TimeProvider>().GetUtcNow();

    public HttpClient ClientWithToken(string? bearer)
    {
        var client = new HttpClient(Guard, disposeHandler: false) { BaseAddress = BaseAddress };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    public HttpClient AnonymousClient() => ClientWithToken(null);

    /// <summary>A scope with the app's own services, to look at the database the way the app sees it.</summary>
    internal async Task<T> InDatabaseAsync<T>(Func<ChatDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<ChatDbContext>());
    }

    /// <summary>Keep the database when the app is disposed (to start another app on it, as after a restart).</summary>
    public bool KeepDatabase { get; set; }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Guard.Dispose();
        if (!KeepDatabase)
        {
            await Database.DisposeAsync();
        }

        // A leak that no request revealed (a background worker's last log line) still fails the run.
        Guard.ThrowIfLeaked();
    }
}
