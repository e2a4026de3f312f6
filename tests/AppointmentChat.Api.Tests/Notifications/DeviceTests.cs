using AppointmentChat.Api.Notifications;
using System.Net;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Notifications;

/// <summary>POST /api/devices and DELETE /api/devices/{token}; on SQLite and PostgreSQL.</summary>
public abstract class DeviceTests(ChatAppFixture fixture)
{
    private static string Token() => "fcm-" + Guid.NewGuid().ToString("N") + ":APA91b" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task RegisteringIsIdempotentAndATokenMovesToWhoeverRegistersItLast()
    {
        var app = await fixture.StartAsync();
        var (token, alice, bob) = (Token(), Ids.New("owner"), Ids.New("owner"));

        var first = await app.ClientFor(alice).PostJsonAsync("/api/devices", new { token, platform = "ios" });
        var again = await app.ClientFor(alice).PostJsonAsync("/api/devices", new { token, platform = "ios" });
        var moved = await app.ClientFor(bob).PostJsonAsync("/api/devices", new { token, platform = "android" });

        await first.ShouldBeOkJsonAsync(HttpStatusCode.Created);
        await again.ShouldBeOkJsonAsync(HttpStatusCode.OK);
        var body = await moved.ShouldBeOkJsonAsync(HttpStatusCode.Created);
        Assert.Equal("android", body.GetProperty("platform").GetString());
        var device = await app.InDatabaseAsync(db => db.Devices.AsNoTracking().SingleAsync(d => d.Token == token));
        Assert.Equal(bob, device.UserId);
    }

    [Fact]
    public async Task PastThePerUserLimitOfThreeTheOldestDeviceIsDropped()
    {
        var app = await fixture.StartAsync();
        var user = Ids.New("owner");
        var tokens = Enumerable.Range(0, 4).Select(_ => Token()).ToList();

        foreach (var token in tokens)
        {
            await (await app.ClientFor(user).PostJsonAsync("/api/devices", new { token, platform = "android" })).ShouldBeOkJsonAsync(HttpStatusCode.Created);
            await Task.Delay(5);
        }

        var kept = await app.InDatabaseAsync(db => db.Devices.Where(d => d.UserId == user).Select(d => d.Token).ToListAsync());
        Assert.Equal(tokens.Skip(1).Order(), kept.Order());
    }

    [Fact]
    public async Task AUserRemovesTheirOwnDeviceButNotSomeoneElses()
    {
        var app = await fixture.StartAsync();
        var (mine, theirs, user, other) = (Token(), Token(), Ids.New("owner"), Ids.New("owner"));
        await WebhookTestData.RegisterDeviceAsync(app, user, mine);
        await WebhookTestData.RegisterDeviceAsync(app, other, theirs);

        var someoneElses = await app.ClientFor(user).DeleteAsync($"/api/devices/{Uri.EscapeDataString(theirs)}");
        var unknown = await app.ClientFor(user).DeleteAsync($"/api/devices/{Uri.EscapeDataString(Token())}");
        var own = await app.ClientFor(user).DeleteAsync($"/api/devices/{Uri.EscapeDataString(mine)}");

        var a = await someoneElses.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        var b = await unknown.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(a.GetProperty("detail").GetString(), b.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NoContent, own.StatusCode);
        Assert.True(await app.InDatabaseAsync(db => db.Devices.AnyAsync(d => d.Token == theirs)));
        Assert.False(await app.InDatabaseAsync(db => db.Devices.AnyAsync(d => d.Token == mine)));
    }

    [Fact]
    public async Task ConcurrentRegistrationsOfOneTokenLeaveOneDevice()
    {
        var app = await fixture.StartAsync();
        var token = Token();
        var users = Enumerable.Range(0, 8).Select(_ => Ids.New("owner")).ToList();

        var responses = await Task.WhenAll(users.Select(u => app.ClientFor(u).PostJsonAsync("/api/devices", new { token, platform = "web" })));

        Assert.All(responses, r => Assert.True(r.IsSuccessStatusCode, r.StatusCode.ToString()));
        Assert.Equal(1, await app.InDatabaseAsync(db => db.Devices.CountAsync(d => d.Token == token)));
    }

    [Theory]
    [InlineData("""{"platform":"ios"}""", "token")]
    [InlineData("""{"token":"","platform":"ios"}""", "token")]
    [InlineData("""{"token":"has space","platform":"ios"}""", "token")]
    [InlineData("""{"token":"abc"}""", "platform")]
    [InlineData("""{"token":"abc","platform":"windows"}""", "platform")]
    [InlineData("""{"token":"abc","platform":1}""", "platform")]
    [InlineData("""{"token":42,"platform":"ios"}""", "token")]
    public async Task BadRegistrationsGet400NamingTheField(string body, string field)
    {
        var app = await fixture.StartAsync();

        var response = await app.ClientFor("owner-1").PostRawAsync("/api/devices", body);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task DevicesNeedABearerToken()
    {
        var app = await fixture.StartAsync();

        await (await app.AnonymousClient().PostJsonAsync("/api/devices", new { token = Token(), platform = "ios" })).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
    }
}

public sealed class SqliteDeviceApp() : ChatAppFixture(DatabaseKind.Sqlite)
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["Push:MaxDevicesPerUser"] = "3" };
}

public sealed class PostgresDeviceApp() : ChatAppFixture(DatabaseKind.Postgres)
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["Push:MaxDevicesPerUser"] = "3" };
}

public sealed class DeviceTestsOnSqlite(SqliteDeviceApp fixture) : DeviceTests(fixture), IClassFixture<SqliteDeviceApp>;

public sealed class DeviceTestsOnPostgres(PostgresDeviceApp fixture) : DeviceTests(fixture), IClassFixture<PostgresDeviceApp>;

/// <summary>With no FCM settings push is off: said once at start, and nothing is queued.</summary>
public sealed class PushOffTests
{
    [Fact]
    public async Task WithoutFcmSettingsPushIsOffAndNoNotificationIsQueued()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite);
        var s = await WebhookTestData.SeedChatAsync(app);
        await WebhookTestData.RegisterDeviceAsync(app, s.VetId, "device-" + Guid.NewGuid().ToString("N"));
        var id = Guid.NewGuid().ToString();

        await (await app.AnonymousClient().SendAsync(StreamWebhook.Request(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "hi"), id))).ShouldBeOkJsonAsync();

        var processed = await WebhookTestData.ProcessedAsync(app, "id:" + id);
        Assert.Equal("push is off", processed.Note);
        Assert.Equal(0, await app.InDatabaseAsync(db => db.Notifications.CountAsync()));
        Assert.Single(app.Logs.Lines, l => l.Message.StartsWith("Push: off", StringComparison.Ordinal));
        var list = await (await app.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        Assert.Equal("hi", list.GetProperty("channels")[0].GetProperty("lastMessage").GetString());
    }
}
