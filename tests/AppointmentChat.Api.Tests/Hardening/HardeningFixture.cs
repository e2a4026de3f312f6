using System.Net;
using System.Net.Http.Json;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Two clinics with their people, appointments with and without a chat, and a registered device: the
/// state hostile and malformed requests are thrown at. Every id is fresh, so fixtures never collide.
/// </summary>
public sealed record World(
    Scenario WithChat,
    Scenario WithoutChat,
    Scenario OtherClinic,
    string AdminA,
    string AdminB,
    string Device)
{
    public const string ClinicA = "clinic-a";
    public const string ClinicB = "clinic-b";

    /// <summary>The appointment's start: far enough ahead that no window edge falls inside a test run.</summary>
    public static DateTimeOffset Start { get; } = DateTimeOffset.UtcNow.AddDays(2);

    public static async Task<World> SeedAsync(ChatApp app)
    {
        var world = new World(
            Scenario.New(ClinicA),
            Scenario.New(ClinicA),
            Scenario.New(ClinicB),
            Ids.New("admin-a"),
            Ids.New("admin-b"),
            "device-" + Guid.NewGuid().ToString("N"));
        foreach (var s in new[] { world.WithChat, world.WithoutChat, world.OtherClinic })
        {
            await s.PushAsync(app, Start);
        }

        await (await world.WithChat.CreateChatAsync(app.ClientFor(world.WithChat.PetOwnerId, "pet-owner"))).ShouldBeOkJsonAsync();
        await (await world.OtherClinic.CreateChatAsync(app.ClientFor(world.OtherClinic.PetOwnerId, "pet-owner"))).ShouldBeOkJsonAsync();
        var device = await app.ClientFor(world.WithChat.VetId, "vet").PostAsJsonAsync("/api/devices", new { token = world.Device, platform = "ios" });
        await device.ShouldBeOkJsonAsync(HttpStatusCode.Created);
        return world;
    }

    /// <summary>A client calling as one of the world's people.</summary>
    public HttpClient Client(ChatApp app, Caller caller) => caller switch
    {
        Caller.Owner => app.ClientFor(WithChat.PetOwnerId, "pet-owner"),
        Caller.Vet => app.ClientFor(WithChat.VetId, "vet"),
        Caller.Admin => app.ClientFor(AdminA, "admin", ClinicA),
        Caller.Service => app.ClientFor("pms", "service"),
        _ => app.AnonymousClient(),
    };
}

public enum Caller
{
    Anonymous,
    Owner,
    Vet,
    Admin,
    Service,
}

/// <summary>
/// The service on a standalone Stream emulator with push through a fake FCM, seeded with a <see cref="World"/>,
/// started on first use (so the PostgreSQL variant can skip without a server).
/// </summary>
public abstract class HardeningFixture(DatabaseKind kind) : LazyFixture<(ServiceWithEmulator Stack, World World)>(kind)
{
    private FakeFcm? _fcm;

    /// <summary>The fake FCM the service pushes through (once started).</summary>
    public FakeFcm Fcm => _fcm ?? throw new InvalidOperationException("Start the fixture first.");

    protected override async Task<(ServiceWithEmulator Stack, World World)> CreateAsync()
    {
        _fcm = Own(await FakeFcm.StartAsync());
        var settings = _fcm.Settings();
        // Generous per-user token budget: the random run calls the token endpoint a few hundred times per user.
        settings["RateLimiting:Token:PermitLimit"] = "100000";
        settings["Chat:SchedulerPollInterval"] = "00:00:01";
        // No catch-up pass on its own in a long class run: one calls Stream, and the "changes nothing" checks count the calls.
        settings["Webhooks:CatchUpInterval"] = "01:00:00";
        // Stream (the emulator, in this process) is healthy here: generous timeouts keep a loaded machine from making it look otherwise.
        settings["Stream:AttemptTimeout"] = "00:00:05";
        settings["Stream:TotalTimeout"] = "00:00:12";
        var stack = Own(await ServiceWithEmulator.StartAsync(Kind, settings));
        // The random and concurrency runs send hundreds of requests a second, many of which call Stream: past Stream's
        // limits, where its 429 becomes the service's 503 with Retry-After, as it should (EmulatorRateLimitTests,
        // MorningRushTests). What these runs look for is everything else.
        stack.Emulator.RaiseRateLimits();
        var world = await World.SeedAsync(stack.App);
        await QuietAsync(stack);
        return (stack, world);
    }

    /// <summary>Waits until Stream has delivered every webhook and the service has processed them, so nothing changes behind a test's back.</summary>
    public static async Task QuietAsync(ServiceWithEmulator stack)
    {
        await Eventually.TrueAsync(() => stack.Emulator.Webhooks.All(d => d.Outcome != "pending"), "every webhook delivered", TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(
            async () => (await Webhooks.WebhookTestData.InboxAsync(stack.App)).All(e => e.Status != Api.Webhooks.InboxStatus.Pending),
            "every webhook processed", TimeSpan.FromSeconds(30));
    }
}

public sealed class SqliteHardening() : HardeningFixture(DatabaseKind.Sqlite);

public sealed class PostgresHardening() : HardeningFixture(DatabaseKind.Postgres);
