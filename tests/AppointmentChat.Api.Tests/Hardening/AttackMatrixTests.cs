using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Webhooks;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Hostile callers, one row per test: forged and broken bearer tokens against every endpoint, callers reaching
/// for other people's and other clinics' chats, roles a caller cannot have, guessed ids, tokens for someone
/// else, and forged or replayed webhooks. Each is refused with the right status, changes nothing, and — where it
/// matters — gets exactly the answer an id that does not exist gets, so nothing can be learnt from it.
/// </summary>
public sealed class AttackMatrixTests(SqliteHardening fixture) : IClassFixture<SqliteHardening>
{
    private static readonly RSA AttackerKey = RSA.Create(2048);

    // ---------------------------------------------------------------- forged bearer tokens, on every endpoint

    private static readonly Dictionary<string, Func<string?>> ForgedBearers = new()
    {
        ["no Authorization header"] = () => null,
        ["an empty bearer"] = () => "",
        ["a bearer that is not a JWT"] = () => "not-a-jwt",
        ["alg none without a signature"] = () => Header("""{"alg":"none","typ":"JWT"}""") + "." + Payload(ServiceClaims()) + ".",
        ["alg none with a real signature"] = () => Header("""{"alg":"none","typ":"JWT"}""") + "." + Payload(ServiceClaims()) + "." + Valid().Split('.')[2],
        ["alg NONE in capitals"] = () => Header("""{"alg":"NONE","typ":"JWT"}""") + "." + Payload(ServiceClaims()) + ".",
        ["HS256 signed with another key"] = () => TestJwt.Create(ServiceClaims(), "an-attackers-guess-at-the-secret-0123456789"),
        ["HS256 signed with an empty key"] = () => TestJwt.Sign("""{"alg":"HS256","typ":"JWT"}""", ServiceClaims().ToJsonString(), []),
        ["HS512 signed with the right secret"] = () => SignHs512(ServiceClaims(), TestJwt.Secret),
        ["RS256 signed with the attacker's RSA key"] = () => SignRs256(ServiceClaims(), """{"alg":"RS256","typ":"JWT"}"""),
        ["RS256 with a jku header pointing at the attacker's keys"] = () => SignRs256(ServiceClaims(), """{"alg":"RS256","typ":"JWT","jku":"http://127.0.0.1:9/keys.json"}"""),
        ["RS256 in the header over an HMAC signature"] = () => TestJwt.Create(ServiceClaims(), alg: "RS256"),
        ["a kid naming a file with an empty key"] = () => TestJwt.Sign("""{"alg":"HS256","typ":"JWT","kid":"../../../../../dev/null"}""", ServiceClaims().ToJsonString(), []),
        ["expired an hour ago"] = () => TestJwt.Create(TestJwt.Claims("pms", ["service"], null, TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow.AddMinutes(-70))),
        ["expired a minute ago, past the clock skew"] = () => TestJwt.Create(TestJwt.Claims("pms", ["service"], null, TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow.AddMinutes(-11))),
        ["not valid for another hour"] = () => NotBefore(DateTimeOffset.UtcNow.AddHours(1)),
        ["without an expiry"] = () => TestJwt.Create(new JsonObject { ["sub"] = "pms", ["role"] = "service" }),
        ["a payload tampered to make the caller the service"] = () => Valid().Split('.')[0] + "." + Payload(ServiceClaims()) + "." + Valid().Split('.')[2],
        ["another token's signature"] = () => Valid().Split('.')[0] + "." + Valid().Split('.')[1] + "." + TestJwt.For("someone-else").Split('.')[2],
        ["a truncated signature"] = () => TestJwt.For("pms", "service")[..^6],
        ["no sub"] = () => TestJwt.Create(TestJwt.Claims(null, ["service"], null, TimeSpan.FromHours(1))),
        ["an empty sub"] = () => TestJwt.Create(TestJwt.Claims("", ["service"], null, TimeSpan.FromHours(1))),
    };

    public static TheoryData<string> ForgedBearerRows() => [.. ForgedBearers.Keys];

    [Theory]
    [MemberData(nameof(ForgedBearerRows))]
    public async Task AForgedOrBrokenBearerIsRefusedWith401ByEveryEndpointAndChangesNothing(string row)
    {
        var (stack, world) = await fixture.StartAsync();
        var before = await StateSnapshot.TakeAsync(stack);
        var client = stack.App.ClientWithToken(ForgedBearers[row]());

        foreach (var (method, path, body) in EveryProtectedEndpoint(world))
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            var response = await client.SendAsync(request);

            var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
            Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            AssertRevealsNothing(problem.GetRawText(), world);
        }

        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    // ---------------------------------------------------------------- other people's and other clinics' chats

    [Fact]
    public async Task APetOwnerCannotOpenReadOrEndAnotherOwnersChatAndGetsTheAnswersOfAnUnknownId()
    {
        var (stack, world) = await fixture.StartAsync();
        var intruder = stack.App.ClientFor(world.OtherClinic.PetOwnerId, "pet-owner");

        await AssertLooksUnknownAsync(stack, world, intruder, world.WithChat, HttpStatusCode.Forbidden, HttpStatusCode.NotFound, HttpStatusCode.Forbidden);
        await AssertLooksUnknownAsync(stack, world, intruder, world.WithoutChat, HttpStatusCode.Forbidden, HttpStatusCode.NotFound, HttpStatusCode.Forbidden);

        // Claiming to be the pet owner in the body changes nothing: the record decides.
        var claimed = await intruder.PostAsJsonAsync("/api/chat/channels", new { appointmentId = world.WithoutChat.AppointmentId, petOwnerId = world.OtherClinic.PetOwnerId });
        await claimed.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task APetOwnerCannotEndEvenTheirOwnChat()
    {
        var (stack, world) = await fixture.StartAsync();
        var before = await StateSnapshot.TakeAsync(stack);

        var response = await world.WithChat.EndAsync(stack.App.ClientFor(world.WithChat.PetOwnerId, "pet-owner"));

        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    [Fact]
    public async Task APetOwnersListNeverShowsAnotherOwnersOrClinicsChatWhateverTheQuery()
    {
        var (stack, world) = await fixture.StartAsync();
        var intruder = stack.App.ClientFor(world.OtherClinic.PetOwnerId, "pet-owner", World.ClinicA);

        foreach (var query in new[] { "", "?organisationId=" + World.ClinicA, "?role=vet", "?role=pet-owner&status=pending", "?limit=100" })
        {
            var list = await (await intruder.GetAsync("/api/chat/channels" + query)).ShouldBeOkJsonAsync();
            var ids = list.GetProperty("channels").EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
            Assert.DoesNotContain(world.WithChat.ChannelId, ids);
            Assert.All(ids, id => Assert.Equal(world.OtherClinic.ChannelId, id));
        }
    }

    [Fact]
    public async Task AVetOfAnotherOrganisationOrAnotherAppointmentGetsTheAnswersOfAnUnknownId()
    {
        var (stack, world) = await fixture.StartAsync();

        await AssertLooksUnknownAsync(stack, world, stack.App.ClientFor(world.OtherClinic.VetId, "vet", World.ClinicB), world.WithChat, HttpStatusCode.Forbidden, HttpStatusCode.NotFound, HttpStatusCode.Forbidden);
        await AssertLooksUnknownAsync(stack, world, stack.App.ClientFor(Ids.New("vet"), "vet", World.ClinicA), world.WithChat, HttpStatusCode.Forbidden, HttpStatusCode.NotFound, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AnAdminOfAnotherOrganisationGetsTheAnswersOfAnUnknownIdAndCannotTakeTheAppointmentOver()
    {
        var (stack, world) = await fixture.StartAsync();
        var adminB = stack.App.ClientFor(world.AdminB, "admin", World.ClinicB);

        await AssertLooksUnknownAsync(stack, world, adminB, world.WithChat, HttpStatusCode.Forbidden, HttpStatusCode.NotFound, HttpStatusCode.Forbidden);

        var before = await StateSnapshot.TakeAsync(stack);
        var asIs = world.WithChat.Facts(World.Start);
        var movedToB = world.WithChat.Facts(World.Start);
        movedToB["organisationId"] = World.ClinicB;
        await (await adminB.PutAsJsonAsync($"/api/appointments/{world.WithChat.AppointmentId}", asIs)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await adminB.PutAsJsonAsync($"/api/appointments/{world.WithChat.AppointmentId}", movedToB)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        var list = await (await adminB.GetAsync("/api/chat/channels?organisationId=" + World.ClinicA)).ShouldBeOkJsonAsync();
        Assert.Equal([world.OtherClinic.ChannelId], list.GetProperty("channels").EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    [Fact]
    public async Task AnAdminWithoutAnOrganisationManagesNothingAndSeesNoClinicsChats()
    {
        var (stack, world) = await fixture.StartAsync();
        var admin = stack.App.ClientFor(Ids.New("admin"), "admin");
        var before = await StateSnapshot.TakeAsync(stack);

        await (await admin.PutAsJsonAsync($"/api/appointments/{world.WithChat.AppointmentId}", world.WithChat.Facts(World.Start))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await world.WithChat.EndAsync(admin)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        var list = await (await admin.GetAsync("/api/chat/channels?organisationId=" + World.ClinicA)).ShouldBeOkJsonAsync();

        Assert.Empty(list.GetProperty("channels").EnumerateArray());
        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    // ---------------------------------------------------------------- roles a caller cannot have

    public static TheoryData<string, string> ImpossibleRoles() => new()
    {
        { "an unknown role", """{"role":"superuser"}""" },
        { "the service role in capitals", """{"role":"SERVICE"}""" },
        { "the service role capitalised", """{"role":"Service"}""" },
        { "the service role with a space", """{"role":"service "}""" },
        { "the service role inside an object", """{"role":{"service":true}}""" },
        { "the service role as a number", """{"role":42}""" },
        { "the service role under another claim name", """{"roles":"service","cognito:groups":["service"]}""" },
        { "the service role among a pet owner's roles, misspelt", """{"role":["pet-owner","servce"]}""" },
    };

    [Theory]
    [MemberData(nameof(ImpossibleRoles))]
    public async Task ARoleClaimTheCallerCannotHaveGrantsNothing(string why, string roleClaims)
    {
        var (stack, world) = await fixture.StartAsync();
        var claims = TestJwt.Claims(Ids.New("mallory"), [], World.ClinicA, TimeSpan.FromHours(1));
        foreach (var (name, value) in JsonNode.Parse(roleClaims)!.AsObject())
        {
            claims[name] = value?.DeepClone();
        }

        var client = stack.App.ClientWithToken(TestJwt.Create(claims));
        var before = await StateSnapshot.TakeAsync(stack);

        await (await client.PutAsJsonAsync($"/api/appointments/{world.WithChat.AppointmentId}", world.WithChat.Facts(World.Start))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await client.GetAsync("/api/webhooks/dead")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await client.PostAsync("/api/webhooks/dead/1/retry", null)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await client.GetAsync($"/api/appointments/{world.WithChat.AppointmentId}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await world.WithChat.EndAsync(client)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        var list = await (await client.GetAsync("/api/chat/channels?organisationId=" + World.ClinicA)).ShouldBeOkJsonAsync();
        Assert.True(!list.GetProperty("channels").EnumerateArray().Any(), why);
        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    // ---------------------------------------------------------------- guessing ids

    [Fact]
    public async Task GuessedAppointmentAndChannelIdsAllGetOneAnswerTheSameAsSomeoneElsesChat()
    {
        var (stack, world) = await fixture.StartAsync();
        var guesser = stack.App.ClientFor(Ids.New("vet"), "vet", World.ClinicA);
        var random = new Random(20261124);
        var guesses = new List<string> { world.WithChat.AppointmentId, world.WithChat.AppointmentId.ToUpperInvariant(), "apt-1", "apt-2", "1", "test", "admin" };
        guesses.AddRange(Enumerable.Range(0, 40).Select(_ => "apt-" + random.Next().ToString("x", System.Globalization.CultureInfo.InvariantCulture)));
        var before = await StateSnapshot.TakeAsync(stack);

        var creates = new HashSet<string>();
        var reads = new HashSet<string>();
        var ends = new HashSet<string>();
        foreach (var id in guesses)
        {
            creates.Add(await AnswerAsync(await guesser.PostAsJsonAsync("/api/chat/channels", new { appointmentId = id })));
            reads.Add(await AnswerAsync(await guesser.GetAsync($"/api/appointments/{id}")));
            ends.Add(await AnswerAsync(await guesser.PostAsync($"/api/chat/channels/appointment-{id}/end", null)));
        }

        Assert.Equal(403, StatusOf(Assert.Single(creates)));
        Assert.Equal(404, StatusOf(Assert.Single(reads)));
        Assert.Equal(403, StatusOf(Assert.Single(ends)));
        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    // ---------------------------------------------------------------- tokens, devices and operator endpoints of someone else

    [Fact]
    public async Task NobodyGetsOrRevokesAStreamTokenForSomeoneElse()
    {
        var (stack, world) = await fixture.StartAsync();
        var victim = world.WithChat.PetOwnerId;
        var before = await StateSnapshot.TakeAsync(stack);

        foreach (var caller in new[] { Caller.Vet, Caller.Admin, Caller.Service })
        {
            await (await world.Client(stack.App, caller).PostAsJsonAsync("/api/chat/token", new { userId = victim })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        }

        foreach (var caller in new[] { Caller.Vet, Caller.Admin })
        {
            await (await world.Client(stack.App, caller).PostAsJsonAsync("/api/chat/token/revoke", new { userId = victim })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        }

        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    [Fact]
    public async Task SomeoneElsesDeviceCannotBeRemovedAndLooksLikeAnUnknownToken()
    {
        var (stack, world) = await fixture.StartAsync();
        var intruder = stack.App.ClientFor(world.OtherClinic.PetOwnerId, "pet-owner");
        var before = await StateSnapshot.TakeAsync(stack);

        var theirs = await AnswerAsync(await intruder.DeleteAsync($"/api/devices/{world.Device}"));
        var unknown = await AnswerAsync(await intruder.DeleteAsync("/api/devices/device-" + Guid.NewGuid().ToString("N")));

        Assert.Equal(unknown, theirs);
        Assert.Equal(404, StatusOf(theirs));
        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    [Fact]
    public async Task OnlyTheServiceSeesOrRetriesParkedWebhooks()
    {
        var (stack, world) = await fixture.StartAsync();

        foreach (var caller in new[] { Caller.Owner, Caller.Vet, Caller.Admin })
        {
            await (await world.Client(stack.App, caller).GetAsync("/api/webhooks/dead")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
            await (await world.Client(stack.App, caller).PostAsync("/api/webhooks/dead/1/retry", null)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        }

        await (await world.Client(stack.App, Caller.Service).GetAsync("/api/webhooks/dead")).ShouldBeOkJsonAsync();
    }

    // ---------------------------------------------------------------- webhooks

    public static TheoryData<string> ForgedWebhookRows() => [.. ForgedWebhooks.Keys];

    private static readonly Dictionary<string, Func<string, HttpRequestMessage>> ForgedWebhooks = new()
    {
        ["no signature"] = body => WithSignature(body, null),
        ["a signature over a different body"] = body => WithSignature(body, StreamWebhook.Sign(Encoding.UTF8.GetBytes(body.Replace("hello", "HELLO", StringComparison.Ordinal)))),
        ["a truncated signature"] = body => WithSignature(body, StreamWebhook.Sign(Encoding.UTF8.GetBytes(body))[..32]),
        ["a signature with one digit changed"] = body => WithSignature(body, Flip(StreamWebhook.Sign(Encoding.UTF8.GetBytes(body)))),
        ["a signature with a sha256= prefix"] = body => WithSignature(body, "sha256=" + StreamWebhook.Sign(Encoding.UTF8.GetBytes(body))),
        ["a signature made with another secret"] = body => WithSignature(body, StreamWebhook.Sign(Encoding.UTF8.GetBytes(body), "not-the-stream-secret-0123456789")),
        ["a signature made with the API key as the secret"] = body => WithSignature(body, StreamWebhook.Sign(Encoding.UTF8.GetBytes(body), ChatApp.StreamApiKey)),
        ["the right signature but another app's API key"] = body => StreamWebhook.Request(body, Guid.NewGuid().ToString(), apiKey: "another-apps-key"),
        ["two signatures, one of them right"] = body =>
        {
            var request = StreamWebhook.Request(body, Guid.NewGuid().ToString());
            request.Headers.Add("X-Signature", new string('0', 64));
            return request;
        },
    };

    [Theory]
    [MemberData(nameof(ForgedWebhookRows))]
    public async Task AForgedWebhookIsRefusedWith401AndNothingIsStored(string row)
    {
        var (stack, world) = await fixture.StartAsync();
        var body = StreamWebhook.MessageNew(world.WithChat.ChannelId, world.WithChat.PetOwnerId, "hello", members: [world.WithChat.PetOwnerId, world.WithChat.VetId]);
        var before = await StateSnapshot.TakeAsync(stack);

        var response = await stack.App.AnonymousClient().SendAsync(ForgedWebhooks[row](body));

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    [Fact]
    public async Task AWebhookReplayedUnderItsOwnIdIsAcknowledgedAndProcessedOnce()
    {
        var (stack, world) = await fixture.StartAsync();
        var s = world.WithChat;
        var (id, messageId) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "replay me", messageId, members: [s.PetOwnerId, s.VetId]);

        var answers = new List<JsonElement>();
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            var request = StreamWebhook.Request(body, id);
            request.Headers.Remove("X-Webhook-Attempt");
            request.Headers.Add("X-Webhook-Attempt", attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
            answers.Add(await (await stack.App.AnonymousClient().SendAsync(request)).ShouldBeOkJsonAsync());
        }

        Assert.All(answers.Skip(1), a => Assert.True(a.GetProperty("duplicate").GetBoolean()));
        await AssertNotifiedOnceAsync(stack, s, messageId);
    }

    [Fact]
    public async Task ACapturedWebhookReplayedUnderAFreshIdNotifiesNobodyTwice()
    {
        var (stack, world) = await fixture.StartAsync();
        var s = world.WithChat;
        var messageId = Guid.NewGuid().ToString();
        var body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "captured", messageId, members: [s.PetOwnerId, s.VetId]);
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        await AssertNotifiedOnceAsync(stack, s, messageId);

        // The same signed bytes, a new X-Webhook-Id (the signature does not cover it): stored, but it notifies no one again.
        var replayId = Guid.NewGuid().ToString();
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, replayId))).ShouldBeOkJsonAsync();
        await Eventually.TrueAsync(() => stack.App.InDatabaseAsync(db => db.InboxEvents.AnyAsync(e => e.DedupKey == "id:" + replayId && e.Status != Api.Webhooks.InboxStatus.Pending)), "the replay to be processed");

        await AssertNotifiedOnceAsync(stack, s, messageId);
    }

    [Fact]
    public async Task NoResponseOrLogLineOfTheseAttacksHoldsASecretOrAToken()
    {
        var (stack, _) = await fixture.StartAsync();

        // Every request of every test goes through the app's LeakGuard, which fails the request that reveals a leak;
        // this states it for the suite's report.
        Assert.True(stack.App.Guard.ResponsesInspected > 0);
        Assert.Empty(stack.App.Guard.Leaks);
        Assert.DoesNotContain(stack.App.Logs.Lines, l => l.Message.Contains(TestJwt.Secret, StringComparison.Ordinal) || l.Message.Contains(ChatApp.StreamSecret, StringComparison.Ordinal));
    }

    // ---------------------------------------------------------------- helpers

    private async Task AssertNotifiedOnceAsync(ServiceWithEmulator stack, Channels.Scenario s, string messageId)
    {
        await Eventually.TrueAsync(() => fixture.Fcm.Delivered.Any(m => m["message"]!["data"]!["messageId"]!.GetValue<string>() == messageId), "the push to the vet's device");
        await Task.Delay(300);
        var queued = await stack.App.InDatabaseAsync(db => db.Notifications.Where(n => n.MessageId == messageId).Select(n => n.RecipientUserId).ToListAsync());
        Assert.Equal([s.VetId], queued.Order());
        Assert.Single(fixture.Fcm.Delivered, m => m["message"]!["data"]!["messageId"]!.GetValue<string>() == messageId);
    }

    /// <summary>Create, read and end <paramref name="target"/> and an id that does not exist: the same status and words for both.</summary>
    private static async Task AssertLooksUnknownAsync(ServiceWithEmulator stack, World world, HttpClient intruder, Channels.Scenario target, HttpStatusCode create, HttpStatusCode read, HttpStatusCode end)
    {
        var unknown = Ids.New("apt");
        var before = await StateSnapshot.TakeAsync(stack);

        var answers = new (HttpStatusCode Status, string Real, string Unknown)[]
        {
            (create, await AnswerAsync(await intruder.PostAsJsonAsync("/api/chat/channels", new { appointmentId = target.AppointmentId })),
                await AnswerAsync(await intruder.PostAsJsonAsync("/api/chat/channels", new { appointmentId = unknown }))),
            (read, await AnswerAsync(await intruder.GetAsync($"/api/appointments/{target.AppointmentId}")),
                await AnswerAsync(await intruder.GetAsync($"/api/appointments/{unknown}"))),
            (end, await AnswerAsync(await target.EndAsync(intruder)),
                await AnswerAsync(await intruder.PostAsync($"/api/chat/channels/appointment-{unknown}/end", null))),
        };

        foreach (var (status, real, unknownAnswer) in answers)
        {
            Assert.Equal(unknownAnswer, real);
            Assert.Equal((int)status, StatusOf(real));
            AssertRevealsNothing(real, world);
        }

        Assert.Null((await StateSnapshot.TakeAsync(stack)).DifferenceFrom(before));
    }

    /// <summary>A response as the caller sees it, minus what differs on every call (the trace id), headers included.</summary>
    private static async Task<string> AnswerAsync(HttpResponseMessage response)
    {
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        body.Remove("traceId");
        var headers = string.Join(";", response.Headers.Concat(response.Content.Headers)
            .Where(h => h.Key is not ("Date" or "Content-Length" or "traceparent"))
            .OrderBy(h => h.Key, StringComparer.Ordinal)
            .Select(h => $"{h.Key}={string.Join(",", h.Value)}"));
        return body.ToJsonString() + " | " + headers;
    }

    private static int StatusOf(string answer) =>
        JsonDocument.Parse(answer[..answer.IndexOf(" | ", StringComparison.Ordinal)]).RootElement.GetProperty("status").GetInt32();

    private static void AssertRevealsNothing(string answer, World world)
    {
        foreach (var fact in new[] { world.WithChat.PetOwnerId, world.WithChat.VetId, World.ClinicA, world.WithChat.AppointmentId, "Alex", "Rex" })
        {
            Assert.DoesNotContain(fact, answer, StringComparison.Ordinal);
        }
    }

    private static IEnumerable<(HttpMethod Method, string Path, object? Body)> EveryProtectedEndpoint(World world) =>
    [
        (HttpMethod.Post, "/api/chat/token", new { }),
        (HttpMethod.Post, "/api/chat/token/revoke", new { }),
        (HttpMethod.Get, "/api/chat/config", null),
        (HttpMethod.Post, "/api/chat/channels", new { appointmentId = world.WithoutChat.AppointmentId }),
        (HttpMethod.Post, $"/api/chat/channels/{world.WithChat.ChannelId}/end", null),
        (HttpMethod.Get, "/api/chat/channels?organisationId=" + World.ClinicA, null),
        (HttpMethod.Put, $"/api/appointments/{world.WithoutChat.AppointmentId}", world.WithoutChat.Facts(World.Start.AddHours(1))),
        (HttpMethod.Get, $"/api/appointments/{world.WithChat.AppointmentId}", null),
        (HttpMethod.Post, "/api/devices", new { token = "device-" + Guid.NewGuid().ToString("N"), platform = "ios" }),
        (HttpMethod.Delete, $"/api/devices/{world.Device}", null),
        (HttpMethod.Get, "/api/webhooks/dead", null),
        (HttpMethod.Post, "/api/webhooks/dead/1/retry", null),
        (HttpMethod.Get, "/api/operator/chats", null),
        (HttpMethod.Post, $"/api/operator/chats/{world.WithChat.AppointmentId}/discard", null),
        (HttpMethod.Post, "/api/operator/pushes/1/retry", null),
        (HttpMethod.Post, "/api/operator/transcripts/1/discard", null),
        (HttpMethod.Get, "/api/operator/audit", null),
    ];

    private static string Valid() => TestJwt.For("owner-1", "pet-owner");

    private static JsonObject ServiceClaims() => TestJwt.Claims("pms", ["service"], World.ClinicA, TimeSpan.FromHours(1));

    private static string Header(string json) => TestJwt.Encode(json);

    private static string Payload(JsonObject claims) => TestJwt.Encode(claims.ToJsonString());

    private static string NotBefore(DateTimeOffset nbf)
    {
        var claims = TestJwt.Claims("pms", ["service"], null, TimeSpan.FromHours(3));
        claims["nbf"] = nbf.ToUnixTimeSeconds();
        return TestJwt.Create(claims);
    }

    private static string SignHs512(JsonObject claims, string secret)
    {
        var input = Header("""{"alg":"HS512","typ":"JWT"}""") + "." + Payload(claims);
        return input + "." + System.Buffers.Text.Base64Url.EncodeToString(HMACSHA512.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(input)));
    }

    private static string SignRs256(JsonObject claims, string header)
    {
        var input = Header(header) + "." + Payload(claims);
        var signature = AttackerKey.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return input + "." + System.Buffers.Text.Base64Url.EncodeToString(signature);
    }

    private static HttpRequestMessage WithSignature(string body, string? signature)
    {
        var request = StreamWebhook.Request(body, Guid.NewGuid().ToString(), signature: "placeholder");
        request.Headers.Remove("X-Signature");
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Signature", signature);
        }

        return request;
    }

    private static string Flip(string hex) => (hex[0] == '0' ? "1" : "0") + hex[1..];
}
