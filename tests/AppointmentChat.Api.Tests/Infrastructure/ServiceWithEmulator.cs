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

    public static async Task<ServiceWithEmulator> StartAsync(DatabaseKind kind = DatabaseKind.Sqlite, IDictionary<string, string?>? settings = null)
    {
        var emulator = await EmulatorHost.StartAsync();
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

        var app = await ChatApp.StartAsync(kind, all);
        emulator.Settings.WebhookUrl = new Uri(app.BaseAddress, "api/webhooks/stream");
        return new ServiceWithEmulator(emulator, app);
    }

    internal StreamChatClient Client() => App.Services.CreateScope().ServiceProvider.GetRequiredService<StreamChatClient>();

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Emulator.DisposeAsync();
    }
}

public sealed class ServiceWithEmulatorFixture : IAsyncLifetime
{
    public ServiceWithEmulator Stack { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Stack = await ServiceWithEmulator.StartAsync();

    public ValueTask DisposeAsync() => Stack.DisposeAsync();
}
