using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>
/// The client side of Stream's protocol in the emulator, as the official SDKs use it: the <c>/connect</c>
/// WebSocket and its handshake, and REST calls with a user token that watch channels and send events.
/// (The SDK itself drives the same protocol in tests/e2e.)
/// </summary>
public sealed class ClientProtocolTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private EmulatorHost Emulator { get; } = fixture.ForNextTest();

    [Fact]
    public async Task AValidUserTokenIsGreetedWithAHealthCheckCarryingTheConnectionIdAndTheUser()
    {
        var owner = Ids.New("owner");

        var (socket, hello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, owner, EmulatorHost.UserToken(owner), new JsonObject { ["id"] = owner, ["name"] = "Alex" });
        await using var _ = socket;

        Assert.False(string.IsNullOrEmpty(hello["connection_id"]?.GetValue<string>()));
        Assert.Equal(owner, hello["me"]!["id"]!.GetValue<string>());
        Assert.True(hello["me"]!["online"]!.GetValue<bool>());
        Assert.Equal(0, hello["me"]!["total_unread_count"]!.GetValue<int>());
        Assert.IsType<JsonArray>(hello["me"]!["channel_mutes"]);
        Assert.Equal("Alex", Emulator.Store.FindUser(owner)!.Custom["name"]!.GetValue<string>()); // connecting upserts the user
    }

    [Fact]
    public async Task EveryPingIsAnsweredWithAHealthCheckForThatConnection()
    {
        var owner = Ids.New("owner");
        var (socket, hello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, owner, EmulatorHost.UserToken(owner));
        await using var _ = socket;

        await socket.PingAsync();
        var answer = await socket.NextAsync();

        Assert.Equal("health.check", answer["type"]!.GetValue<string>());
        Assert.Equal(hello["connection_id"]!.GetValue<string>(), answer["connection_id"]!.GetValue<string>());
    }

    public static TheoryData<string, string, int> RefusedConnections() => new()
    {
        { "wrong api_key", "api-key", 2 },
        { "signed with another secret", "secret", 43 },
        { "expired", "expired", 40 },
        { "the server token", "server", 5 },
        { "a token for someone else", "someone-else", 5 },
    };

    [Theory]
    [MemberData(nameof(RefusedConnections))]
    public async Task ABadConnectionIsRefusedWithStreamsErrorThenANormalClose(string why, string problem, int code)
    {
        var owner = Ids.New("owner");
        var token = problem switch
        {
            "secret" => EmulatorHost.UserToken(owner, secret: "another-secret-entirely-0123456789"),
            "expired" => EmulatorHost.UserToken(owner, DateTimeOffset.UtcNow.AddHours(-2), TimeSpan.FromHours(1)),
            "server" => EmulatorHost.ServerToken,
            "someone-else" => EmulatorHost.UserToken(Ids.New("vet")),
            _ => EmulatorHost.UserToken(owner),
        };

        await using var socket = await StreamSocket.ConnectAsync(Emulator.BaseUrl, owner, token, apiKey: problem == "api-key" ? "wrong-key" : EmulatorHost.ApiKey);
        var (status, frames) = await socket.ClosedAsync();

        var error = Assert.Single(frames)["error"]!;
        Assert.True(code == error["code"]!.GetValue<int>(), why);
        Assert.Equal(401, error["StatusCode"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(error["message"]?.GetValue<string>()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status); // the SDK takes 1000 as final; code 40 alone makes it refresh
        Assert.Null(Emulator.Store.FindUser(owner)); // nothing was upserted for a refused connection
    }

    [Fact]
    public async Task ARevokedTokenIsRefusedWithCode40AndANewerOneIsAccepted()
    {
        var owner = Ids.New("owner");
        var old = EmulatorHost.UserToken(owner, DateTimeOffset.UtcNow.AddMinutes(-1));
        await Emulator.CallAsync(HttpMethod.Post, "users", new JsonObject { ["users"] = new JsonObject { [owner] = new JsonObject { ["id"] = owner } } });
        await RevokeAsync(owner, DateTimeOffset.UtcNow.AddSeconds(-10));

        await using var refused = await StreamSocket.ConnectAsync(Emulator.BaseUrl, owner, old);
        var (status, frames) = await refused.ClosedAsync();
        var (accepted, _) = await StreamSocket.OpenAsync(Emulator.BaseUrl, owner, EmulatorHost.UserToken(owner));
        await accepted.DisposeAsync();

        Assert.Equal(40, Assert.Single(frames)["error"]!["code"]!.GetValue<int>());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
    }

    [Fact]
    public async Task RevokingAUsersTokensEndsTheirOpenConnectionsWithCode40()
    {
        var (owner, vet) = (Ids.New("owner"), Ids.New("vet"));
        var (ownerSocket, _) = await StreamSocket.OpenAsync(Emulator.BaseUrl, owner, EmulatorHost.UserToken(owner, DateTimeOffset.UtcNow.AddMinutes(-1)));
        var (vetSocket, _) = await StreamSocket.OpenAsync(Emulator.BaseUrl, vet, EmulatorHost.UserToken(vet, DateTimeOffset.UtcNow.AddMinutes(-1)));
        await using var _o = ownerSocket;
        await using var _v = vetSocket;

        await RevokeAsync(owner, DateTimeOffset.UtcNow);

        var (status, frames) = await ownerSocket.ClosedAsync();
        var error = Assert.Single(frames, f => f["type"]?.GetValue<string>() == "connection.error")["error"]!;
        Assert.Equal(40, error["code"]!.GetValue<int>());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status); // not 1000: the SDK reconnects, gets 40 and refreshes its token
        await vetSocket.PingAsync();
        Assert.Equal("health.check", (await vetSocket.NextAsync())["type"]!.GetValue<string>()); // someone else's connection is untouched
    }

    [Fact]
    public async Task APlainGetOnConnectIsAStreamInputError()
    {
        var response = await Emulator.Http.GetAsync($"connect?api_key={EmulatorHost.ApiKey}");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(4, body["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task OnlyMembersMayWatchAChannelAndOnlyWatchersReceiveItsEvents()
    {
        var (owner, vet, stranger) = (Ids.New("owner"), Ids.New("vet"), Ids.New("stranger"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        var (ownerSocket, ownerHello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, owner, EmulatorHost.UserToken(owner));
        var (strangerSocket, strangerHello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, stranger, EmulatorHost.UserToken(stranger));
        await using var _o = ownerSocket;
        await using var _s = strangerSocket;

        var (ownerStatus, _, _) = await WatchAsync(channel, owner, ownerHello);
        var (strangerStatus, strangerBody, _) = await WatchAsync(channel, stranger, strangerHello);
        await SendAsUserAsync(channel, owner, "hello");

        Assert.Equal(201, ownerStatus);
        Assert.Equal((403, 17), (strangerStatus, strangerBody["code"]!.GetValue<int>()));
        Assert.Equal("hello", (await ownerSocket.NextOfTypeAsync("message.new")).Frame["message"]!["text"]!.GetValue<string>());
        Assert.DoesNotContain(await strangerSocket.FramesBeforeNextPingAnswerAsync(), f => f["type"]?.GetValue<string>() == "message.new");
    }

    [Fact]
    public async Task AConnectionIdMustBeTheCallersOwn()
    {
        var (owner, vet) = (Ids.New("owner"), Ids.New("vet"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        var (ownerSocket, ownerHello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, owner, EmulatorHost.UserToken(owner));
        await using var _ = ownerSocket;

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post,
            $"channels/messaging/{channel}/query?connection_id={ownerHello["connection_id"]!.GetValue<string>()}",
            new JsonObject { ["state"] = true, ["watch"] = true }, EmulatorHost.UserToken(vet));

        Assert.Equal((400, 46), (status, body["code"]!.GetValue<int>()));
        Assert.False(Emulator.Connections.IsWatching(Emulator.Connections.Of(owner).Single(), $"messaging:{channel}"));
    }

    [Fact]
    public async Task WatchersReceiveMessagesReadsTypingAndChannelUpdatesAndAClientMessageFiresTheWebhook()
    {
        var (owner, vet) = (Ids.New("owner"), Ids.New("vet"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        var (ownerSocket, ownerHello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, owner, EmulatorHost.UserToken(owner));
        var (vetSocket, vetHello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, vet, EmulatorHost.UserToken(vet));
        await using var _o = ownerSocket;
        await using var _v = vetSocket;
        await WatchAsync(channel, owner, ownerHello);
        var (_, vetState, _) = await WatchAsync(channel, vet, vetHello);

        var (typingStatus, _, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/event",
            new JsonObject { ["event"] = new JsonObject { ["type"] = "typing.start" } }, EmulatorHost.UserToken(owner));
        var typing = (await vetSocket.NextOfTypeAsync("typing.start")).Frame;
        var sent = await SendAsUserAsync(channel, owner, "Rex is limping");
        var received = (await vetSocket.NextOfTypeAsync("message.new")).Frame;
        var (readStatus, _, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/read", new JsonObject(), EmulatorHost.UserToken(vet));
        var read = (await ownerSocket.NextOfTypeAsync("message.read")).Frame;
        await Emulator.CallAsync(HttpMethod.Patch, $"channels/messaging/{channel}", new JsonObject { ["set"] = new JsonObject { ["frozen"] = true } });
        var updated = (await ownerSocket.NextOfTypeAsync("channel.updated")).Frame;

        Assert.Equal(2, vetState["watcher_count"]!.GetValue<int>());
        Assert.Equal(201, typingStatus);
        Assert.Equal((owner, $"messaging:{channel}"), (typing["user"]!["id"]!.GetValue<string>(), typing["cid"]!.GetValue<string>()));
        Assert.Equal(sent, received["message"]!["id"]!.GetValue<string>());
        Assert.Equal(owner, received["user"]!["id"]!.GetValue<string>());
        Assert.Equal(201, readStatus);
        Assert.Equal((vet, sent), (read["user"]!["id"]!.GetValue<string>(), read["last_read_message_id"]!.GetValue<string>()));
        Assert.True(updated["channel"]!["frozen"]!.GetValue<bool>());

        // The client's message went to the webhook URL like any other; typing never does.
        Assert.Contains(Emulator.Webhooks, w => w.EventType == "message.new" && w.Cid == $"messaging:{channel}");
        Assert.DoesNotContain(Emulator.Webhooks, w => w.EventType.StartsWith("typing.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFrozenChannelAnswersAMembersMessageWithStreamsErrorMessageAndNothingIsDelivered()
    {
        var (owner, vet) = (Ids.New("owner"), Ids.New("vet"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner], new JsonObject { ["frozen"] = true });
        var (vetSocket, vetHello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, vet, EmulatorHost.UserToken(vet));
        await using var _ = vetSocket;
        await WatchAsync(channel, vet, vetHello);

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message",
            new JsonObject { ["message"] = new JsonObject { ["text"] = "too early" } }, EmulatorHost.UserToken(owner));

        Assert.Equal((201, "error"), (status, body["message"]!["type"]!.GetValue<string>()));
        Assert.DoesNotContain(await vetSocket.FramesBeforeNextPingAnswerAsync(), f => f["type"]?.GetValue<string>() == "message.new");
    }

    [Fact]
    public async Task QueryChannelsWithWatchSubscribesTheConnectionToTheChannelsReturned()
    {
        var (owner, vet) = (Ids.New("owner"), Ids.New("vet"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        var (vetSocket, vetHello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, vet, EmulatorHost.UserToken(vet));
        await using var _ = vetSocket;

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels?connection_id={vetHello["connection_id"]!.GetValue<string>()}",
            new JsonObject { ["filter_conditions"] = new JsonObject { ["members"] = new JsonObject { ["$in"] = new JsonArray(vet) } }, ["watch"] = true, ["state"] = true },
            EmulatorHost.UserToken(vet));
        await SendAsUserAsync(channel, owner, "from the queried channel");

        Assert.Equal(201, status);
        Assert.Equal($"messaging:{channel}", Assert.Single(body["channels"]!.AsArray())!["channel"]!["cid"]!.GetValue<string>());
        Assert.Equal("from the queried channel", (await vetSocket.NextOfTypeAsync("message.new")).Frame["message"]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task StopWatchingEndsTheChannelsEventsForThatConnection()
    {
        var (owner, vet) = (Ids.New("owner"), Ids.New("vet"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        var (vetSocket, vetHello) = await StreamSocket.OpenAsync(Emulator.BaseUrl, vet, EmulatorHost.UserToken(vet));
        await using var _ = vetSocket;
        var connectionId = vetHello["connection_id"]!.GetValue<string>();
        await WatchAsync(channel, vet, vetHello);

        var (status, _, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/stop-watching?connection_id={connectionId}", new JsonObject(), EmulatorHost.UserToken(vet));
        await SendAsUserAsync(channel, owner, "nobody is watching");

        Assert.Equal(201, status);
        Assert.DoesNotContain(await vetSocket.FramesBeforeNextPingAnswerAsync(), f => f["type"]?.GetValue<string>() == "message.new");
    }

    [Fact]
    public async Task TypingIsTheOnlyEventAClientMaySend()
    {
        var (owner, vet) = (Ids.New("owner"), Ids.New("vet"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/event",
            new JsonObject { ["event"] = new JsonObject { ["type"] = "message.new" } }, EmulatorHost.UserToken(owner));
        var (strangerStatus, strangerBody, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/event",
            new JsonObject { ["event"] = new JsonObject { ["type"] = "typing.start" } }, EmulatorHost.UserToken(Ids.New("stranger")));

        Assert.Equal((400, 18), (status, body["code"]!.GetValue<int>()));
        Assert.Equal(400, strangerStatus); // a user Stream has never seen
        Assert.Equal(4, strangerBody["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task AWebAppOnAnotherOriginMayCallTheStreamApiAsStreamAllows()
    {
        var owner = Ids.New("owner");

        var (preflight, call) = await CrossOriginAsync(Emulator.Http, "channels", EmulatorHost.ApiKey, EmulatorHost.UserToken(owner));

        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("*", preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(HttpStatusCode.Created, call.StatusCode);
        Assert.Equal("*", call.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("X-RateLimit-Remaining", call.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A browser's preflight for a query-channels call from http://localhost:3000, then the call.</summary>
    internal static async Task<(HttpResponseMessage Preflight, HttpResponseMessage Call)> CrossOriginAsync(HttpClient http, string path, string apiKey, string token)
    {
        const string origin = "http://localhost:3000";
        using var preflight = new HttpRequestMessage(HttpMethod.Options, $"{path}?api_key={apiKey}");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,stream-auth-type,x-client-request-id,x-stream-client");
        using var call = new HttpRequestMessage(HttpMethod.Post, $"{path}?api_key={apiKey}")
        {
            Content = new StringContent("""{"filter_conditions":{}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        call.Headers.Add("Origin", origin);
        call.Headers.TryAddWithoutValidation("Authorization", token);
        call.Headers.Add("Stream-Auth-Type", "jwt");
        return (await http.SendAsync(preflight), await http.SendAsync(call));
    }

    private Task<(int Status, JsonObject Body, HttpResponseMessage Response)> WatchAsync(string channel, string userId, JsonObject hello) =>
        Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/query?connection_id={hello["connection_id"]!.GetValue<string>()}",
            new JsonObject { ["data"] = new JsonObject(), ["state"] = true, ["watch"] = true, ["presence"] = false }, EmulatorHost.UserToken(userId));

    private async Task<string> SendAsUserAsync(string channel, string userId, string text)
    {
        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message",
            new JsonObject { ["message"] = new JsonObject { ["text"] = text } }, EmulatorHost.UserToken(userId));
        Assert.True(status == 201, body.ToJsonString());
        return body["message"]!["id"]!.GetValue<string>();
    }

    private async Task RevokeAsync(string userId, DateTimeOffset before)
    {
        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Patch, "users", new JsonObject
        {
            ["users"] = new JsonArray(new JsonObject { ["id"] = userId, ["set"] = new JsonObject { ["revoke_tokens_issued_before"] = before.ToString("O") } }),
        });
        Assert.True(status == 200, body.ToJsonString());
    }
}

/// <summary>The connection's clock: health checks, silence and token expiry, on a fake clock.</summary>
public sealed class ClientConnectionClockTests
{
    [Fact]
    public async Task AQuietConnectionGetsAHealthCheckEvery30SecondsAndASilentClientIsDisconnected()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var emulator = await EmulatorHost.StartAsync(time: clock);
        var owner = Ids.New("owner");
        var (socket, _) = await StreamSocket.OpenAsync(emulator.BaseUrl, owner, EmulatorHost.UserToken(owner, clock.GetUtcNow()));
        await using var _ = socket;

        clock.Advance(TimeSpan.FromSeconds(30));
        var unprompted = await socket.NextAsync();
        clock.Advance(TimeSpan.FromSeconds(31)); // 61 s without a word from the client
        var (status, _) = await socket.ClosedAsync();

        Assert.Equal("health.check", unprompted["type"]!.GetValue<string>());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
    }

    [Fact]
    public async Task ATokenThatExpiresWhileConnectedEndsTheConnectionWithCode40()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var emulator = await EmulatorHost.StartAsync(time: clock);
        var owner = Ids.New("owner");
        var (socket, _) = await StreamSocket.OpenAsync(emulator.BaseUrl, owner, EmulatorHost.UserToken(owner, clock.GetUtcNow(), TimeSpan.FromMinutes(1)));
        await using var _ = socket;

        clock.Advance(TimeSpan.FromSeconds(30));
        await socket.NextOfTypeAsync("health.check"); // the emulator's own, every 30 s
        // A live client, its ping answered before the clock moves on: silence is not the reason it is closed. (Taking the
        // emulator's own check for the answer let the clock pass 60 s of silence before the ping was read.)
        await socket.FramesBeforeNextPingAnswerAsync();
        clock.Advance(TimeSpan.FromSeconds(30)); // exp, within Stream's leeway
        var stillOpen = await socket.FramesBeforeNextPingAnswerAsync();
        clock.Advance(TimeSpan.FromSeconds(6));
        var (status, frames) = await socket.ClosedAsync();

        Assert.DoesNotContain(stillOpen, f => f["type"]?.GetValue<string>() == "connection.error");
        Assert.Equal(40, Assert.Single(frames, f => f["type"]?.GetValue<string>() == "connection.error")["error"]!["code"]!.GetValue<int>());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
    }
}

/// <summary>The service hosting the emulator serves the client WebSocket under /stream too.</summary>
public sealed class EmbeddedClientSocketTests
{
    [Fact]
    public async Task AnAppConnectsToTheServicesOwnStreamWithATokenTheServiceMinted()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["STREAM_API_KEY"] = null,
            ["STREAM_API_SECRET"] = null,
            ["STREAM_CHAT_URL"] = null,
        });
        var owner = Ids.New("owner");
        var client = app.ClientFor(owner, "pet-owner");
        var config = await (await client.GetAsync("/api/chat/config")).ShouldBeOkJsonAsync();
        var token = (await (await client.PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync()).GetProperty("token").GetString()!;

        await using var socket = await StreamSocket.ConnectAsync(new Uri(config.GetProperty("baseUrl").GetString() + "/"), owner, token, apiKey: config.GetProperty("apiKey").GetString()!);
        var hello = await socket.NextAsync();

        Assert.Equal("health.check", hello["type"]!.GetValue<string>());
        Assert.Equal(owner, hello["me"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheEmulatorsAddressInTheConfigNeverComesFromAForgedHostHeader()
    {
        var withoutStream = new Dictionary<string, string?> { ["STREAM_API_KEY"] = null, ["STREAM_API_SECRET"] = null, ["STREAM_CHAT_URL"] = null };
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, withoutStream);
        var client = app.ClientFor(Ids.New("owner"), "pet-owner");

        using var forged = new HttpRequestMessage(HttpMethod.Get, "/api/chat/config");
        forged.Headers.Host = "evil.example";
        var forgedUrl = (await (await client.SendAsync(forged)).ShouldBeOkJsonAsync()).GetProperty("baseUrl").GetString()!;
        using var local = new HttpRequestMessage(HttpMethod.Get, "/api/chat/config");
        local.Headers.Host = "localhost:5080";
        var localUrl = (await (await client.SendAsync(local)).ShouldBeOkJsonAsync()).GetProperty("baseUrl").GetString()!;

        Assert.DoesNotContain("evil.example", forgedUrl, StringComparison.Ordinal);
        Assert.Equal($"http://127.0.0.1:{app.BaseAddress.Port}/stream", forgedUrl);
        Assert.Equal("http://localhost:5080/stream", localUrl);

        withoutStream["Stream:EmulatorPublicUrl"] = "https://chat-dev.example.com/stream/";
        await using var configured = await ChatApp.StartAsync(DatabaseKind.Sqlite, withoutStream);
        using var anyHost = new HttpRequestMessage(HttpMethod.Get, "/api/chat/config");
        anyHost.Headers.Host = "evil.example";
        var configuredUrl = (await (await configured.ClientFor(Ids.New("owner"), "pet-owner").SendAsync(anyHost)).ShouldBeOkJsonAsync()).GetProperty("baseUrl").GetString();
        Assert.Equal("https://chat-dev.example.com/stream", configuredUrl);
    }

    [Fact]
    public async Task OnlyTheEmbeddedStreamApiAnswersOtherOrigins()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["STREAM_API_KEY"] = null,
            ["STREAM_API_SECRET"] = null,
            ["STREAM_CHAT_URL"] = null,
        });
        var owner = Ids.New("owner");
        var client = app.ClientFor(owner, "pet-owner");
        var token = (await (await client.PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync()).GetProperty("token").GetString()!;

        var (preflight, call) = await ClientProtocolTests.CrossOriginAsync(app.AnonymousClient(), "/stream/channels", "local", token);
        using var ownApi = new HttpRequestMessage(HttpMethod.Options, "/api/chat/token");
        ownApi.Headers.Add("Origin", "http://localhost:3000");
        ownApi.Headers.Add("Access-Control-Request-Method", "POST");
        var ownApiAnswer = await app.AnonymousClient().SendAsync(ownApi);

        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(HttpStatusCode.Created, call.StatusCode);
        Assert.Equal("*", call.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(ownApiAnswer.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
