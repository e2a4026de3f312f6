using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Tokens;

/// <summary>
/// A service whose clock runs 30 s ahead of Stream's (the emulator, which like Stream allows no leeway on iat): its
/// tokens still work, and a token minted after a revocation answered is not revoked; on SQLite and PostgreSQL.
/// </summary>
public abstract class ClockSkewTests(DatabaseKind kind) : IAsyncLifetime
{
    private static readonly TimeSpan Ahead = TimeSpan.FromSeconds(30);

    private EmulatorHost _emulator = null!;
    private readonly List<ChatApp> _apps = [];

    public async ValueTask InitializeAsync()
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        _emulator = await EmulatorHost.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    private async Task<ChatApp> StartAheadAsync(IDictionary<string, string?>? settings = null)
    {
        var app = await ServiceWithEmulator.StartAppAsync(_emulator, kind, settings, services => services.AddSingleton<TimeProvider>(new AheadClock(Ahead)));
        _apps.Add(app);
        return app;
    }

    private static async Task<string> MintAsync(ChatApp app, string userId) =>
        (await (await app.ClientFor(userId, "pet-owner").PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync()).GetProperty("token").GetString()!;

    /// <summary>What Stream answers a user's call made with <paramref name="token"/>: its status and error code (0 on success).</summary>
    private async Task<(int Status, int Code)> UseAsync(string token)
    {
        var (status, body, _) = await _emulator.CallAsync(HttpMethod.Post, "channels", new JsonObject { ["filter_conditions"] = new JsonObject() }, token);
        return (status, body["code"]?.GetValue<int>() ?? 0);
    }

    [Fact]
    public async Task TokensFromAServiceClock30SecondsAheadWorkOnStream()
    {
        var app = await StartAheadAsync();

        var token = await MintAsync(app, Ids.New("owner"));

        Assert.Equal((201, 0), await UseAsync(token));
    }

    [Fact]
    public async Task WithoutTheBackdateStreamRefusesThemAsUsedBeforeIssued()
    {
        var app = await StartAheadAsync(new Dictionary<string, string?> { ["Chat:TokenBackdate"] = "00:00:00" });

        var token = await MintAsync(app, Ids.New("owner"));

        Assert.Equal((401, 42), await UseAsync(token));
    }

    [Fact]
    public async Task ATokenMintedAfterARevocationIsAnsweredWorksAndTheOneBeforeIsRefused()
    {
        var app = await StartAheadAsync();
        var owner = Ids.New("owner");
        var old = await MintAsync(app, owner);
        Assert.Equal((201, 0), await UseAsync(old));

        await (await app.ClientFor(owner, "pet-owner").PostJsonAsync("/api/chat/token/revoke", new { })).ShouldBeOkJsonAsync();
        var fresh = await MintAsync(app, owner);

        Assert.Equal((401, 40), await UseAsync(old));
        Assert.Equal((201, 0), await UseAsync(fresh));
    }

    [Fact]
    public async Task ConcurrentRevocationsOfAUserStreamHasNeverSeenAllSucceed()
    {
        var app = await StartAheadAsync();
        var owner = Ids.New("owner"); // never connected: unknown to Stream, which refuses the first partial updates
        var service = app.ClientFor("pms", "service");

        var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => service.PostJsonAsync("/api/chat/token/revoke", new { userId = owner })));

        foreach (var answer in answers)
        {
            await answer.ShouldBeOkJsonAsync();
        }

        Assert.NotNull(_emulator.Store.FindUser(owner));
    }

    /// <summary>The real clock, <paramref name="ahead"/> early.</summary>
    private sealed class AheadClock(TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
    }
}

public sealed class ClockSkewTestsOnSqlite() : ClockSkewTests(DatabaseKind.Sqlite);

public sealed class ClockSkewTestsOnPostgres() : ClockSkewTests(DatabaseKind.Postgres);
