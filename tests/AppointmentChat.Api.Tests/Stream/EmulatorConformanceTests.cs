using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Stream;

public sealed class EmulatorFixture : IAsyncLifetime
{
    public EmulatorHost Emulator { get; private set; } = null!;

    /// <summary>
    /// The emulator for the next test, with fresh rate-limit counters: a class's tests share one emulator with Stream's
    /// default limits, and together they call some endpoints faster than Stream allows (10 user upserts a second), so a
    /// 429 would otherwise fail a test about another rule.
    /// </summary>
    public EmulatorHost ForNextTest()
    {
        Emulator.ResetRateLimitCounters();
        return Emulator;
    }

    public async ValueTask InitializeAsync() => Emulator = await EmulatorHost.StartAsync();

    public ValueTask DisposeAsync() => Emulator.DisposeAsync();
}

/// <summary>The emulator behaves as Stream does, for every rule the service relies on.</summary>
public sealed class EmulatorConformanceTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private EmulatorHost Emulator { get; } = fixture.ForNextTest();

    public static TheoryData<string, string, string?, bool, int, int> AuthenticationFailures() => new()
    {
        { "no api_key", "", EmulatorHost.ServerToken, true, 401, 2 },
        { "wrong api_key", "wrong-key", EmulatorHost.ServerToken, true, 401, 2 },
        { "no Stream-Auth-Type", EmulatorHost.ApiKey, EmulatorHost.ServerToken, false, 401, 5 },
        { "no token", EmulatorHost.ApiKey, null, true, 401, 5 },
        { "token signed with another secret", EmulatorHost.ApiKey, TestJwt.Create(new JsonObject { ["server"] = true }, "another-secret-entirely-0123456789"), true, 401, 43 },
        { "alg none", EmulatorHost.ApiKey, TestJwt.Encode("""{"alg":"none"}""") + "." + TestJwt.Encode("""{"server":true}""") + ".", true, 401, 43 },
        { "expired user token", EmulatorHost.ApiKey, EmulatorHost.UserToken("someone", DateTimeOffset.UtcNow.AddHours(-3), TimeSpan.FromHours(1)), true, 401, 40 },
        { "garbage", EmulatorHost.ApiKey, "garbage", true, 401, 5 },
    };

    [Theory]
    [MemberData(nameof(AuthenticationFailures))]
    public async Task AuthenticatesLikeStreamWithStreamsErrorBody(string why, string apiKey, string? token, bool sendAuthType, int status, int code)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "users" + (apiKey.Length > 0 ? "?api_key=" + apiKey : ""))
        {
            Content = new StringContent("""{"users":{"u1":{"id":"u1"}}}""", Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }

        if (sendAuthType)
        {
            request.Headers.TryAddWithoutValidation("Stream-Auth-Type", "jwt");
        }

        var response = await Emulator.Http.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, body["code"]!.GetValue<int>());
        Assert.Equal(status, body["StatusCode"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(body["message"]?.GetValue<string>()), why);
        Assert.NotNull(body["more_info"]);
        Assert.NotNull(body["duration"]);
    }

    [Fact]
    public async Task PostsAnswer201OtherMethods200AndEveryAnswerCarriesRateLimitHeaders()
    {
        var user = Ids.New("user");
        var (post, _, postResponse) = await Emulator.CallAsync(HttpMethod.Post, "users", new JsonObject { ["users"] = new JsonObject { [user] = new JsonObject { ["id"] = user } } });
        var (patch, _, _) = await Emulator.CallAsync(HttpMethod.Patch, "users", new JsonObject { ["users"] = new JsonArray(new JsonObject { ["id"] = user, ["set"] = new JsonObject { ["name"] = "N" } }) });
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [user]);
        var (delete, _, _) = await Emulator.CallAsync(HttpMethod.Delete, $"channels/messaging/{channel}");

        Assert.Equal((201, 200, 200), (post, patch, delete));
        Assert.Equal("300", postResponse.Headers.GetValues("X-RateLimit-Limit").Single());
        Assert.True(int.Parse(postResponse.Headers.GetValues("X-RateLimit-Remaining").Single(), System.Globalization.CultureInfo.InvariantCulture) < 300);
        Assert.True(long.Parse(postResponse.Headers.GetValues("X-RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task ATokenIssuedEvenTwoSecondsAheadIsRefusedAsUsedBeforeIssued()
    {
        var ahead = EmulatorHost.UserToken(Ids.New("owner"), DateTimeOffset.UtcNow.AddSeconds(2), TimeSpan.FromHours(1));
        var now = EmulatorHost.UserToken(Ids.New("owner"), DateTimeOffset.UtcNow, TimeSpan.FromHours(1));

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, "channels", new JsonObject { ["filter_conditions"] = new JsonObject() }, ahead);

        Assert.Equal((401, 42), (status, body["code"]!.GetValue<int>()));
        Assert.Equal(201, (await Emulator.CallAsync(HttpMethod.Post, "channels", new JsonObject { ["filter_conditions"] = new JsonObject() }, now)).Status);
    }

    [Fact]
    public async Task MembersMustExistAsUsersBeforeTheyJoinAChannel()
    {
        var vet = Ids.New("vet");
        await Emulator.CallAsync(HttpMethod.Post, "users", new JsonObject { ["users"] = new JsonObject { [vet] = new JsonObject { ["id"] = vet } } });

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{Ids.New("appointment")}/query", new JsonObject
        {
            ["data"] = new JsonObject { ["created_by_id"] = vet, ["members"] = new JsonArray(vet, "ghost-user") },
        });

        Assert.Equal(400, status);
        Assert.Equal(4, body["code"]!.GetValue<int>());
        Assert.Contains("ghost-user", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MembersAreAddedAndRemovedInSeparateRequestsOnly()
    {
        var (vet, owner, newVet) = (Ids.New("vet"), Ids.New("owner"), Ids.New("vet"));
        var channelId = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        await Emulator.CallAsync(HttpMethod.Post, "users", new JsonObject { ["users"] = new JsonObject { [newVet] = new JsonObject { ["id"] = newVet } } });

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channelId}", new JsonObject
        {
            ["add_members"] = new JsonArray(newVet),
            ["remove_members"] = new JsonArray(vet),
        });

        Assert.Equal(400, status);
        Assert.Equal(4, body["code"]!.GetValue<int>());
        var members = Emulator.Store.ChannelSnapshot("messaging", channelId)!["members"]!.AsArray().Select(m => m!["user_id"]!.GetValue<string>());
        Assert.Equal(new[] { owner, vet }.Order(), members.Order());

        Assert.Equal(201, (await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channelId}", new JsonObject { ["add_members"] = new JsonArray(newVet) })).Status);
        Assert.Equal(201, (await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channelId}", new JsonObject { ["remove_members"] = new JsonArray(vet) })).Status);
        members = Emulator.Store.ChannelSnapshot("messaging", channelId)!["members"]!.AsArray().Select(m => m!["user_id"]!.GetValue<string>());
        Assert.Equal(new[] { owner, newVet }.Order(), members.Order());
    }

    [Fact]
    public async Task ServerSideCreationNeedsCreatedBy()
    {
        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{Ids.New("appointment")}/query", new JsonObject
        {
            ["data"] = new JsonObject { ["members"] = new JsonArray() },
        });

        Assert.Equal(400, status);
        Assert.Contains("created_by", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetOrCreateIsIdempotentAndReturnsTheExistingChannelUnchanged()
    {
        var vet = Ids.New("vet");
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet], new JsonObject { ["status"] = "pending" });

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/query", new JsonObject
        {
            ["data"] = new JsonObject { ["created_by_id"] = vet, ["members"] = new JsonArray(vet), ["status"] = "overwritten?" },
        });

        Assert.Equal(201, status);
        Assert.Equal("pending", body["channel"]!["status"]!.GetValue<string>());
        Assert.Single(Emulator.Store.ChannelIds(), c => c == $"messaging:{channel}");
    }

    [Fact]
    public async Task PartialUpdateKeepsCustomDataAndFullUpdateReplacesIt()
    {
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("vet")], new JsonObject { ["appointmentId"] = "a", ["status"] = "active" });

        var (_, partial, _) = await Emulator.CallAsync(HttpMethod.Patch, $"channels/messaging/{channel}", new JsonObject { ["set"] = new JsonObject { ["status"] = "ended" } });
        var (_, full, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}", new JsonObject { ["data"] = new JsonObject { ["status"] = "only" } });

        Assert.Equal("a", partial["channel"]!["appointmentId"]!.GetValue<string>());
        Assert.Null(full["channel"]!["appointmentId"]);
        Assert.Equal("only", full["channel"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task AFrozenChannelAnswersUserMessagesWithAnErrorMessageAndTakesServerSideOnes()
    {
        var (vet, owner) = (Ids.New("vet"), Ids.New("owner"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        await Emulator.CallAsync(HttpMethod.Patch, $"channels/messaging/{channel}", new JsonObject { ["set"] = new JsonObject { ["frozen"] = true } });
        var webhooksBefore = Emulator.Webhooks.Count;

        var (userStatus, userBody, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message",
            new JsonObject { ["message"] = new JsonObject { ["text"] = "hello?" } }, EmulatorHost.UserToken(owner));
        var (controlStatus, controlBody, _) = await Emulator.ControlAsync(HttpMethod.Post, $"channels/messaging/{channel}/messages", new { user_id = owner, text = "still?" });
        var (serverStatus, _, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message",
            new JsonObject { ["message"] = new JsonObject { ["text"] = "closed", ["user_id"] = vet } });

        // Stream's answer to a member: the request succeeds, the message is an error one, and nothing is kept or sent.
        Assert.Equal(201, userStatus);
        Assert.Equal(("error", "Sorry, this channel has been frozen by the admin"), (userBody["message"]!["type"]!.GetValue<string>(), userBody["message"]!["text"]!.GetValue<string>()));
        Assert.Equal(201, controlStatus);
        Assert.Equal("error", controlBody["message"]!["type"]!.GetValue<string>());
        Assert.Equal(201, serverStatus);
        var kept = Emulator.Store.ChannelSnapshot("messaging", channel)!["messages"]!.AsArray().Select(m => m!["text"]!.GetValue<string>());
        Assert.Equal(["closed"], kept);
        await Task.Delay(300);
        Assert.DoesNotContain(Emulator.Webhooks.Skip(webhooksBefore), w => w.EventType == "message.new" && System.Text.Encoding.UTF8.GetString(w.Body).Contains("hello?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASystemMessageIsTheServersAndOtherTypesAreRefused()
    {
        var (vet, owner) = (Ids.New("vet"), Ids.New("owner"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        JsonObject Message(string type, string? userId = null) => new() { ["message"] = new JsonObject { ["text"] = "hi", ["type"] = type, ["user_id"] = userId } };

        var server = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message", Message("system", vet));
        var user = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message", Message("system"), EmulatorHost.UserToken(owner));
        var error = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message", Message("error", vet));

        Assert.Equal(201, server.Status);
        Assert.Equal("system", server.Body["message"]!["type"]!.GetValue<string>());
        Assert.Equal((403, 17), (user.Status, user.Body["code"]!.GetValue<int>()));
        Assert.Equal((400, 4), (error.Status, error.Body["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task MessagesAreCheckedForLengthAndDuplicateIds()
    {
        var owner = Ids.New("owner");
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [owner]);
        var path = $"channels/messaging/{channel}/message";

        var (tooLong, tooLongBody, _) = await Emulator.CallAsync(HttpMethod.Post, path, new JsonObject { ["message"] = new JsonObject { ["text"] = new string('x', 5001), ["user_id"] = owner } });
        var (first, _, _) = await Emulator.CallAsync(HttpMethod.Post, path, new JsonObject { ["message"] = new JsonObject { ["id"] = channel + "-1", ["text"] = "hi", ["user_id"] = owner } });
        var (again, againBody, _) = await Emulator.CallAsync(HttpMethod.Post, path, new JsonObject { ["message"] = new JsonObject { ["id"] = channel + "-1", ["text"] = "hi", ["user_id"] = owner } });

        Assert.Equal((400, 20), (tooLong, tooLongBody["code"]!.GetValue<int>()));
        Assert.Equal(201, first);
        Assert.Equal((400, 4), (again, againBody["code"]!.GetValue<int>()));
        Assert.Contains("already exists", againBody["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryChannelsComparesLastMessageAtAndReturnsTheLatestMessageLimitMessages()
    {
        var owner = Ids.New("owner");
        var quiet = await Emulator.CreateChannelAsync(Ids.New("appointment"), [owner]);
        var earlier = await Emulator.CreateChannelAsync(Ids.New("appointment"), [owner]);
        var later = await Emulator.CreateChannelAsync(Ids.New("appointment"), [owner]);
        foreach (var (channel, text) in new[] { (earlier, "e1"), (later, "l1"), (later, "l2"), (later, "l3") })
        {
            await Emulator.CallPacedAsync(HttpMethod.Post, $"channels/messaging/{channel}/message", new JsonObject { ["message"] = new JsonObject { ["text"] = text, ["user_id"] = owner } });
            await Task.Delay(5);
        }

        var laterAt = Emulator.Store.ChannelSnapshot("messaging", later)!["channel"]!["last_message_at"]!.GetValue<string>();
        async Task<JsonArray> Query(JsonObject lastMessageAt, int? messageLimit = null)
        {
            var body = new JsonObject
            {
                ["filter_conditions"] = new JsonObject { ["members"] = new JsonObject { ["$in"] = new JsonArray(owner) }, ["last_message_at"] = lastMessageAt },
                ["sort"] = new JsonArray(new JsonObject { ["field"] = "last_message_at", ["direction"] = -1 }),
            };
            if (messageLimit is not null)
            {
                body["message_limit"] = messageLimit;
            }

            var (status, result, _) = await Emulator.CallAsync(HttpMethod.Post, "channels", body);
            Assert.True(status == 201, result.ToJsonString());
            return result["channels"]!.AsArray();
        }

        static string[] IdsOf(JsonArray channels) => [.. channels.Select(c => c!["channel"]!["id"]!.GetValue<string>())];

        Assert.Equal([later], IdsOf(await Query(new JsonObject { ["$gte"] = laterAt })));
        Assert.Equal([earlier], IdsOf(await Query(new JsonObject { ["$lt"] = laterAt })));
        Assert.Equal([later, earlier], IdsOf(await Query(new JsonObject { ["$lte"] = laterAt, ["$gt"] = "2000-01-01T00:00:00Z" })));
        Assert.Equal([quiet], IdsOf(await Query(new JsonObject { ["$exists"] = false })));
        var limited = await Query(new JsonObject { ["$gte"] = laterAt }, messageLimit: 2);
        Assert.Equal(["l2", "l3"], limited[0]!["messages"]!.AsArray().Select(m => m!["text"]!.GetValue<string>()));

        var (tooMany, error, _) = await Emulator.CallAsync(HttpMethod.Post, "channels", new JsonObject { ["filter_conditions"] = new JsonObject { ["type"] = "messaging" }, ["message_limit"] = 301 });
        Assert.Equal((400, 4), (tooMany, error["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task QueryChannelsFiltersSortsAndLimitsLikeStream()
    {
        var owner = Ids.New("owner");
        var org = Ids.New("org");
        var first = await Emulator.CreateChannelAsync(Ids.New("appointment"), [owner], new JsonObject { ["organisationId"] = org });
        var second = await Emulator.CreateChannelAsync(Ids.New("appointment"), [owner], new JsonObject { ["organisationId"] = org });
        var other = await Emulator.CreateChannelAsync(Ids.New("appointment"), [owner], new JsonObject { ["organisationId"] = "elsewhere" });
        await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{first}/message", new JsonObject { ["message"] = new JsonObject { ["text"] = "newest", ["user_id"] = owner } });

        async Task<string[]> Query(JsonObject filter, JsonArray? sort = null, int? limit = null, int? offset = null)
        {
            var body = new JsonObject { ["filter_conditions"] = filter.DeepClone() };
            if (sort is not null)
            {
                body["sort"] = sort.DeepClone();
            }

            if (limit is not null)
            {
                body["limit"] = limit;
            }

            if (offset is not null)
            {
                body["offset"] = offset;
            }

            var (status, result, _) = await Emulator.CallAsync(HttpMethod.Post, "channels", body);
            Assert.Equal(201, status);
            return [.. result["channels"]!.AsArray().Select(c => c!["channel"]!["id"]!.GetValue<string>())];
        }

        var byMember = new JsonObject { ["members"] = new JsonObject { ["$in"] = new JsonArray(owner) } };
        var lastMessageFirst = new JsonArray(new JsonObject { ["field"] = "last_message_at", ["direction"] = -1 }, new JsonObject { ["field"] = "created_at", ["direction"] = -1 });

        Assert.Equal([first, other, second], await Query(byMember, lastMessageFirst));
        Assert.Equal([first, second], await Query(new JsonObject { ["members"] = new JsonObject { ["$in"] = new JsonArray(owner) }, ["organisationId"] = org }, lastMessageFirst));
        Assert.Equal([second], await Query(new JsonObject { ["cid"] = new JsonObject { ["$in"] = new JsonArray($"messaging:{second}") } }));
        Assert.Equal([other], await Query(new JsonObject { ["type"] = "messaging", ["id"] = other }));
        Assert.Equal([other, second], await Query(byMember, lastMessageFirst, limit: 2, offset: 1));

        var (status, error, _) = await Emulator.CallAsync(HttpMethod.Post, "channels", new JsonObject { ["filter_conditions"] = byMember.DeepClone(), ["limit"] = 31 });
        Assert.Equal((400, 4), (status, error["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task AUserTokenSeesOnlyTheUsersOwnChannelsAndARevokedOneIsRefused()
    {
        var (owner, stranger) = (Ids.New("owner"), Ids.New("owner"));
        var mine = await Emulator.CreateChannelAsync(Ids.New("appointment"), [owner]);
        await Emulator.CreateChannelAsync(Ids.New("appointment"), [stranger]);
        var token = EmulatorHost.UserToken(owner, DateTimeOffset.UtcNow.AddMinutes(-5));

        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, "channels", new JsonObject { ["filter_conditions"] = new JsonObject { ["type"] = "messaging" }, ["limit"] = 30 }, token);
        Assert.Equal(201, status);
        Assert.Equal([mine], body["channels"]!.AsArray().Select(c => c!["channel"]!["id"]!.GetValue<string>()));

        await Emulator.CallAsync(HttpMethod.Patch, "users", new JsonObject
        {
            ["users"] = new JsonArray(new JsonObject { ["id"] = owner, ["set"] = new JsonObject { ["revoke_tokens_issued_before"] = DateTimeOffset.UtcNow.ToString("O") } }),
        });
        var (revoked, revokedBody, _) = await Emulator.CallAsync(HttpMethod.Post, "channels", new JsonObject { ["filter_conditions"] = new JsonObject() }, token);
        Assert.Equal((401, 40), (revoked, revokedBody["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task AWebhookIsGivenUpAsStreamGivesItUpThreeAttemptsOrTwoWhenTheConnectionFails()
    {
        await using var receiver = await RecordingServer.StartAsync();
        receiver.Respond = _ => 503;
        await using var emulator = await EmulatorHost.StartAsync(s => s.WebhookRetryDelay = TimeSpan.FromMilliseconds(50));
        emulator.Settings.WebhookUrl = receiver.Url;
        await emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("owner")]);
        await Eventually.TrueAsync(() => emulator.Webhooks.Count > 0 && emulator.Webhooks.All(w => w.Outcome != "pending"), "the webhooks to be given up");
        Assert.All(emulator.Webhooks, w => Assert.Equal(("failed", 3), (w.Outcome, w.Attempts.Count)));

        var given = emulator.Webhooks.Count;
        emulator.Settings.WebhookUrl = new Uri("http://127.0.0.1:9/"); // nothing listens: the connection fails
        await emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("owner")]);
        await Eventually.TrueAsync(() => emulator.Webhooks.Count > given && emulator.Webhooks.Skip(given).All(w => w.Outcome != "pending"), "the webhooks to be given up");
        Assert.All(emulator.Webhooks.Skip(given), w => Assert.Equal(("failed", 2), (w.Outcome, w.Attempts.Count)));
    }

    [Fact]
    public async Task WebhooksAreSignedOverTheRawBodyAndKeepTheirIdAcrossRetries()
    {
        await using var receiver = await RecordingServer.StartAsync();
        receiver.Respond = n => n <= 2 ? 503 : 200;
        await using var emulator = await EmulatorHost.StartAsync(s =>
        {
            s.WebhookRetryDelay = TimeSpan.FromMilliseconds(50);
            s.WebhookConcurrency = 1;
        });
        emulator.Settings.WebhookUrl = receiver.Url;
        var owner = Ids.New("owner");
        var channel = await emulator.CreateChannelAsync(Ids.New("appointment"), [owner]);
        await Eventually.TrueAsync(() => emulator.Webhooks.All(w => w.Outcome != "pending"), "channel.created delivered");
        var before = receiver.Requests.Count;
        receiver.Respond = n => n <= before + 2 ? 503 : 200;

        await emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message", new JsonObject { ["message"] = new JsonObject { ["text"] = "hi", ["user_id"] = owner } });
        await Eventually.TrueAsync(() => receiver.Requests.Count >= before + 3, "three attempts of message.new");

        var attempts = receiver.Requests.Skip(before).ToList();
        Assert.Single(attempts.Select(a => a.Headers["X-Webhook-Id"]).Distinct());
        Assert.Equal(["1", "2", "3"], attempts.Select(a => a.Headers["X-Webhook-Attempt"]));
        foreach (var attempt in attempts)
        {
            var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(EmulatorHost.Secret), attempt.Body));
            Assert.Equal(expected, attempt.Headers["X-Signature"]);
            Assert.Equal(EmulatorHost.ApiKey, attempt.Headers["X-Api-Key"]);
        }

        var evt = JsonNode.Parse(attempts[0].Body)!.AsObject();
        Assert.Equal("message.new", evt["type"]!.GetValue<string>());
        Assert.Equal($"messaging:{channel}", evt["cid"]!.GetValue<string>());
        Assert.Equal(channel, evt["channel_id"]!.GetValue<string>());
        Assert.Equal("messaging", evt["channel_type"]!.GetValue<string>());
        Assert.Equal("hi", evt["message"]!["text"]!.GetValue<string>());
        Assert.Equal(owner, evt["user"]!["id"]!.GetValue<string>());
        Assert.NotNull(evt["members"]);
        Assert.NotNull(evt["created_at"]);
    }

    [Fact]
    public async Task RaisesAWebhookForEachKindOfChange()
    {
        await using var receiver = await RecordingServer.StartAsync();
        await using var emulator = await EmulatorHost.StartAsync();
        emulator.Settings.WebhookUrl = receiver.Url;
        var (vet, owner, newVet) = (Ids.New("vet"), Ids.New("owner"), Ids.New("vet"));
        var channel = await emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        await emulator.CallAsync(HttpMethod.Post, "users", new JsonObject { ["users"] = new JsonObject { [newVet] = new JsonObject { ["id"] = newVet } } });

        var (_, sent, _) = await emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message", new JsonObject { ["message"] = new JsonObject { ["text"] = "v1", ["user_id"] = owner } });
        var messageId = sent["message"]!["id"]!.GetValue<string>();
        await emulator.CallAsync(HttpMethod.Post, $"messages/{messageId}", new JsonObject { ["message"] = new JsonObject { ["text"] = "v2" } });
        await emulator.CallAsync(HttpMethod.Delete, $"messages/{messageId}");
        await emulator.CallAsync(HttpMethod.Patch, $"channels/messaging/{channel}", new JsonObject { ["set"] = new JsonObject { ["frozen"] = true } });
        await emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}", new JsonObject { ["add_members"] = new JsonArray(newVet) });
        await emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}", new JsonObject { ["remove_members"] = new JsonArray(vet) });
        await emulator.CallAsync(HttpMethod.Patch, "users", new JsonObject { ["users"] = new JsonArray(new JsonObject { ["id"] = owner, ["set"] = new JsonObject { ["name"] = "Alex" } }) });
        await emulator.CallAsync(HttpMethod.Delete, $"channels/messaging/{channel}");

        string[] expected = ["message.new", "message.updated", "message.deleted", "channel.updated", "member.added", "member.removed", "user.updated", "channel.deleted"];
        await Eventually.TrueAsync(() => expected.All(t => receiver.Requests.Any(r => Type(r) == t)), "every kind of webhook");
        await Eventually.TrueAsync(() => emulator.Webhooks.Count(w => w.Outcome == "delivered") == expected.Length + 1, "all delivered, channel.created included");

        static string Type(Received r) => JsonNode.Parse(r.Body)!["type"]!.GetValue<string>();
    }
}
