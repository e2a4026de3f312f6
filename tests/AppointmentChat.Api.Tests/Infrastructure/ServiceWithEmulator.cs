using AppointmentChat.Api.Stream;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>The service wired to a standalone emulator as its Stream, with short timeouts for fault tests.</summary>
public sealed class ServiceWithEmulator : IAsyncDisposable
{
    private ServiceWithEmulator(EmulatorHost emulator, ChatApp app)
    {
        Emulator = emulator;
        App = app;
    }

    public EmulatorHost Emulator { get; }

    public ChatApp App { get; }

    public static async Task<ServiceWithEmulator> StartAsync(
        DatabaseKind kind = DatabaseKind.Sqlite,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        TestDatabase? database = null)
    {
        var emulator = await EmulatorHost.StartAsync();
        var app = await StartAppAsync(emulator, kind, settings, services, database);
        return new ServiceWithEmulator(emulator, app);
    }

    /// <summary>Starts the service with <paramref name="emulator"/> as its Stream and the emulator's webhooks pointed at it.</summary>
    public static async Task<ChatApp> StartAppAsync(
        EmulatorHost emulator,
        DatabaseKind kind,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        TestDatabase? database = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["STREAM_CHAT_URL"] = emulator.BaseUrl.ToString(),
            ["Stream:AttemptTimeout"] = "00:00:01",
            ["Stream:TotalTimeout"] = "00:00:06",
            ["Stream:RetryBaseDelay"] = "00:00:00.050",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var app = await ChatApp.StartAsync(kind, all, services, database);
        emulator.Settings.WebhookUrl = new Uri(app.BaseAddress, "api/webhooks/stream");
        return app;
    }

    internal StreamChatClient Client() => App.Services.CreateScope().ServiceProvider.GetRequiredService<StreamChatClient>();

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Emulator.DisposeAsync();
    }
}

/// <summary>
/// The service and an emulator for one test class and database kind, started on first use (so that
/// the PostgreSQL variant can skip when there is no server).
/// </summary>
public abstract class StackFixture(DatabaseKind kind) : LazyFixture<ServiceWithEmulator>(kind)
{
    protected override async Task<ServiceWithEmulator> CreateAsync() => Own(await ServiceWithEmulator.StartAsync(Kind));

    /// <summary>
    /// Each test starts with fresh rate-limit counters: the tests of a class share one emulator with Stream's limits
    /// (10 user updates a second), and one test's chats made back to back must not make the next one's first calls 429.
    /// </summary>
    protected override void ForNextTest(ServiceWithEmulator value) => value.Emulator.ResetRateLimitCounters();
}

public sealed class SqliteWithEmulator() : StackFixture(DatabaseKind.Sqlite);

public sealed class PostgresWithEmulator() : StackFixture(DatabaseKind.Postgres);
