using System.Net;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AppointmentChat.Api.Tests.Channels;

/// <summary>
/// The chat window, enforced by the server on a fake clock: nothing but time (and the PMS's updates)
/// opens, freezes, moves and ends a chat. On SQLite and PostgreSQL.
/// </summary>
public abstract class ChatWindowTests(DatabaseKind kind) : IAsyncLifetime
{
    private EmulatorHost _emulator = null!;
    private readonly List<ChatApp> _apps = [];

    public async ValueTask InitializeAsync() => _emulator = await EmulatorHost.StartAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        await _emulator.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task<ChatApp> StartAsync(FakeTimeProvider clock, IDictionary<string, string?>? settings = null, TestDatabase? database = null)
    {
        var app = await ServiceWithEmulator.StartAppAsync(_emulator, kind, settings, services => services.AddSingleton<TimeProvider>(clock), database);
        _apps.Add(app);
        return app;
    }

    private async Task<ChatApp> StartAsync(FakeTimeProvider clock, bool keepOpenAfterCompletion) =>
        await StartAsync(clock, new Dictionary<string, string?> { ["Chat:KeepOpenAfterCompletion"] = keepOpenAfterCompletion ? "true" : "false" });

    private static FakeTimeProvider Clock() => new(DateTimeOffset.UtcNow);

    /// <summary>A service on its own clock with a chat opened for an appointment starting two minutes from now.</summary>
    private async Task<(FakeTimeProvider Clock, ChatApp App, Scenario S, DateTimeOffset Soon)> ChatStartingSoonAsync(bool? keepOpenAfterCompletion = null)
    {
        var clock = Clock();
        var app = keepOpenAfterCompletion is { } keep ? await StartAsync(clock, keep) : await StartAsync(clock);
        var s = Scenario.New();
        var soon = clock.GetUtcNow().AddMinutes(2);
        await s.PushAsync(app, soon);
        await s.CreateChatOkAsync(app);
        return (clock, app, s, soon);
    }

    private async Task ChatBecomesAsync(ChatApp app, Scenario s, string status, bool frozen)
    {
        await Eventually.TrueAsync(() => s.StreamChannel(_emulator) is { } c && Scenario.Custom(c, "status") == status && Scenario.Frozen(c) == frozen,
            $"the channel in Stream to be {status} (frozen: {frozen})");
        var expected = status switch { "pending" => ChatStatus.Pending, "active" => ChatStatus.Active, _ => ChatStatus.Ended };
        await Eventually.TrueAsync(async () => await app.InDatabaseAsync(db => db.Chats.AnyAsync(a => a.AppointmentId == s.AppointmentId && a.Status == expected)),
            $"the chat to be recorded as {status}");
    }

    [Fact]
    public async Task APendingChatOpensByItselfAtActivatesAtAndEndsByItselfAtClosesAt()
    {
        var clock = Clock();
        var app = await StartAsync(clock);
        var s = Scenario.New();
        var start = clock.GetUtcNow().AddHours(2);
        await s.PushAsync(app, start, activationMinutes: 10, duration: 30);

        var created = await s.CreateChatOkAsync(app);
        Assert.Equal("pending", created.GetProperty("status").GetString());
        Assert.Equal(start.AddMinutes(-10).ToUnixTimeSeconds(), created.GetProperty("activatesAt").GetDateTimeOffset().ToUnixTimeSeconds());
        Assert.Equal(start.AddMinutes(30 + 30).ToUnixTimeSeconds(), created.GetProperty("closesAt").GetDateTimeOffset().ToUnixTimeSeconds());
        await ChatBecomesAsync(app, s, "pending", frozen: true);
        Assert.Equal(SendOutcome.Frozen, Scenario.UserSend(_emulator, s, s.PetOwnerId, "too early"));

        clock.SetUtcNow(start.AddMinutes(-10));
        await ChatBecomesAsync(app, s, "active", frozen: false);
        Assert.Equal(SendOutcome.Sent, Scenario.UserSend(_emulator, s, s.PetOwnerId, "hello"));

        clock.SetUtcNow(start.AddMinutes(60));
        await ChatBecomesAsync(app, s, "ended", frozen: true);
        var messages = Scenario.Messages(s.StreamChannel(_emulator)!);
        Assert.Equal(2, messages.Count);
        Assert.Equal("system", messages[1]!["user"]!["id"]!.GetValue<string>());
        Assert.Equal("system", messages[1]!["type"]!.GetValue<string>());
        var record = await app.InDatabaseAsync(db => db.Chats.AsNoTracking().SingleAsync(a => a.AppointmentId == s.AppointmentId));
        Assert.Equal("system", record.EndedBy);
        Assert.Equal(start.AddMinutes(60).ToUnixTimeSeconds(), record.EndedAt!.Value.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task AfterARestartTheSchedulerCatchesUpOnWhatItMissed()
    {
        var clock = Clock();
        var database = await TestDatabase.CreateAsync(kind);
        var first = await StartAsync(clock, database: database);
        var s = Scenario.New();
        var start = clock.GetUtcNow().AddHours(1);
        await s.PushAsync(first, start);
        await s.CreateChatOkAsync(first);
        await ChatBecomesAsync(first, s, "pending", frozen: true);
        first.KeepDatabase = true;
        _apps.Remove(first);
        await first.DisposeAsync();

        // While the service was down, the chat's window opened.
        var later = new FakeTimeProvider(start.AddMinutes(5));
        var second = await StartAsync(later, database: database);

        await ChatBecomesAsync(second, s, "active", frozen: false);
    }

    [Fact]
    public async Task ARescheduleMovesTheWindowFreezingAndReopeningTheChat()
    {
        var (_, app, s, soon) = await ChatStartingSoonAsync();
        await ChatBecomesAsync(app, s, "active", frozen: false);

        await s.PushAsync(app, soon.AddDays(1));
        await ChatBecomesAsync(app, s, "pending", frozen: true);
        Assert.Equal(soon.AddDays(1).ToUnixTimeSeconds(), DateTimeOffset.Parse(Scenario.Custom(s.StreamChannel(_emulator)!, "appointmentTime")!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds());

        await s.PushAsync(app, soon);
        await ChatBecomesAsync(app, s, "active", frozen: false);
    }

    [Fact]
    public async Task ANewVetReplacesTheOldOneInTheChannel()
    {
        var (_, app, s, soon) = await ChatStartingSoonAsync();
        var newVet = Ids.New("vet");

        await s.PushAsync(app, soon, vetId: newVet);

        await Eventually.TrueAsync(() => s.StreamChannel(_emulator)!["members"]!.AsArray().Select(m => m!["user_id"]!.GetValue<string>()).Order().SequenceEqual(new[] { s.PetOwnerId, newVet }.Order()),
            "the channel's members to be the pet owner and the new vet");
        Assert.Equal("Dr. " + newVet, _emulator.Store.FindUser(newVet)!.Custom["name"]!.GetValue<string>());
        var list = await (await app.ClientFor(newVet, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        Assert.Equal(s.AppointmentId, list.GetProperty("channels")[0].GetProperty("appointmentId").GetString());
    }

    [Theory]
    [InlineData("cancelled")]
    [InlineData("no-show")]
    public async Task CancellingOrANoShowEndsTheChat(string status)
    {
        var (_, app, s, soon) = await ChatStartingSoonAsync();

        await s.PushAsync(app, soon, status);

        await ChatBecomesAsync(app, s, "ended", frozen: true);
        Assert.Single(Scenario.Messages(s.StreamChannel(_emulator)!));
        var record = await app.InDatabaseAsync(db => db.Chats.AsNoTracking().SingleAsync(a => a.AppointmentId == s.AppointmentId));
        Assert.Equal("pms", record.EndedBy);
    }

    [Fact]
    public async Task ACompletedAppointmentsChatStaysOpenUntilItClosesWhenKeptOpen()
    {
        var (clock, app, s, soon) = await ChatStartingSoonAsync(keepOpenAfterCompletion: true);

        await s.PushAsync(app, soon, "completed");
        await ChatBecomesAsync(app, s, "active", frozen: false);
        await Task.Delay(300);
        Assert.Equal("active", Scenario.Custom(s.StreamChannel(_emulator)!, "status"));

        clock.SetUtcNow(soon.AddMinutes(60));
        await ChatBecomesAsync(app, s, "ended", frozen: true);
    }

    [Fact]
    public async Task ACompletedAppointmentsChatEndsAtOnceWhenNotKeptOpen()
    {
        var (_, app, s, soon) = await ChatStartingSoonAsync(keepOpenAfterCompletion: false);

        await s.PushAsync(app, soon, "completed");

        await ChatBecomesAsync(app, s, "ended", frozen: true);
    }
}

public sealed class ChatWindowTestsOnSqlite() : ChatWindowTests(DatabaseKind.Sqlite);

public sealed class ChatWindowTestsOnPostgres() : ChatWindowTests(DatabaseKind.Postgres);
