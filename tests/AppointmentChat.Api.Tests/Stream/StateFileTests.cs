using System.Text.Json.Nodes;
using AppointmentChat.StreamEmulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>The emulator's state file keeps every change, whenever its background writer gets to run.</summary>
public sealed class StateFileTests
{
    [Fact]
    public async Task AChangeMadeBeforeTheWriterFirstRunsIsWrittenWhenTheEmulatorStops()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("appointment-chat-state-").FullName, "state.json");
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new EmulatorSettings { StateFile = path });
        services.AddSingleton<ClientConnections>();
        services.AddSingleton<ChatStore>();
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ChatStore>();
        using var writer = new StateFile(provider.GetRequiredService<EmulatorSettings>(), store, NullLogger<StateFile>.Instance);

        // The app changes before the writer's loop has run (.NET runs ExecuteAsync on the thread pool, possibly late).
        store.UpsertUsers(StreamCaller.Server, new JsonObject { ["u1"] = new JsonObject { ["id"] = "u1" } });
        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.True(File.Exists(path), "the state file was not written");
        Assert.Contains("u1", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
    }
}
