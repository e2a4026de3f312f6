using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Channels;

/// <summary>Create-or-get and end, against the emulator as Stream, on SQLite and PostgreSQL.</summary>
public abstract class ChannelApiTests(StackFixture fixture)
{
    private static DateTimeOffset SoonStart => DateTimeOffset.UtcNow.AddMinutes(2);

    [Fact]
    public async Task ARenameChangesTheNameInStreamAndKeepsWhatTheAppSetOnTheUser()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        var start = SoonStart;
        await s.PushAsync(stack.App, start);
        // The app connected first and set the pet owner's picture (a user may upsert themself).
        var appSet = new JsonObject { ["users"] = new JsonObject { [s.PetOwnerId] = new JsonObject { ["id"] = s.PetOwnerId, ["name"] = "Alex", ["image"] = "https://img.example/alex.png" } } };
        Assert.Equal(201, (await stack.Emulator.CallAsync(HttpMethod.Post, "users", appSet, EmulatorHost.UserToken(s.PetOwnerId))).Status);

        await s.CreateChatOkAsync(stack.App);
        var renamed = s.Facts(start);
        renamed["petOwnerName"] = "Alexandra Owner";
        (await stack.App.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", renamed)).EnsureSuccessStatusCode();

        await Eventually.TrueAsync(() => stack.Emulator.Store.FindUser(s.PetOwnerId)!.Custom["name"]?.GetValue<string>() == "Alexandra Owner",
            "Stream to have the pet owner's new name");
        Assert.Equal("https://img.example/alex.png", stack.Emulator.Store.FindUser(s.PetOwnerId)!.Custom["image"]?.GetValue<string>());
    }

    [Fact]
    public async Task ThePetOwnerCreatesTheChatAndGetsTheGuidesResponse()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);

        var body = await s.CreateChatOkAsync(stack.App);

        Assert.Equal(s.ChannelId, body.GetProperty("channelId").GetString());
        Assert.Equal("messaging", body.GetProperty("channelType").GetString());
        Assert.Equal([s.PetOwnerId, s.VetId], body.GetProperty("members").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("active", body.GetProperty("status").GetString());
        Assert.True(body.TryGetProperty("activatesAt", out _) && body.TryGetProperty("closesAt", out _));
        Assert.Equal(["channelId", "channelType", "members", "status", "activatesAt", "closesAt"], body.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task TheChannelIsCreatedWithUsersUpsertedFirstTheVetAsCreatorAndTheAppointmentsCustomData()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        var start = SoonStart;
        await s.PushAsync(stack.App, start);

        await s.CreateChatOkAsync(stack.App);

        var channel = s.StreamChannel(stack.Emulator)!;
        Assert.Equal(s.VetId, channel["channel"]!["created_by"]!["id"]!.GetValue<string>());
        Assert.Equal(new[] { s.PetOwnerId, s.VetId }.Order(), channel["members"]!.AsArray().Select(m => m!["user_id"]!.GetValue<string>()).Order());
        Assert.Equal("Chat with Alex Owner", Scenario.Custom(channel, "name"));
        Assert.Equal(s.AppointmentId, Scenario.Custom(channel, "appointmentId"));
        Assert.Equal(start.ToUnixTimeSeconds(), DateTimeOffset.Parse(Scenario.Custom(channel, "appointmentTime")!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds());
        Assert.Equal("5", Scenario.Custom(channel, "activationMinutes"));
        Assert.Equal(s.Org, Scenario.Custom(channel, "organisationId"));
        Assert.Equal("Rex", Scenario.Custom(channel, "petName"));
        Assert.Equal("active", Scenario.Custom(channel, "status"));
        Assert.False(Scenario.Frozen(channel));

        // The users exist in Stream with their names, the system user included.
        Assert.Equal("Alex Owner", stack.Emulator.Store.FindUser(s.PetOwnerId)!.Custom["name"]!.GetValue<string>());
        Assert.Equal("Dr. " + s.VetId, stack.Emulator.Store.FindUser(s.VetId)!.Custom["name"]!.GetValue<string>());
        Assert.NotNull(stack.Emulator.Store.FindUser("system"));
        var calls = stack.Emulator.Calls.Where(c => c.Path.Contains(s.ChannelId, StringComparison.Ordinal) || c.Endpoint == "UpdateUsers").ToList();
        Assert.True(calls.FindIndex(c => c.Endpoint == "UpdateUsers") < calls.FindIndex(c => c.Endpoint == "GetOrCreateChannel"));
    }

    [Fact]
    public async Task AChannelSomeoneCreatedFirstLosesItsStrangersAndTheirDataBeforeTheChatIsHandedOut()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);

        // A user of the app creates the appointment's channel from the client before the service does, as Stream's
        // default permissions allow, with themselves as its member and data of their own.
        var intruder = "intruder-" + Guid.NewGuid().ToString("N")[..8];
        var store = stack.Emulator.Store;
        store.UpsertUsers(AppointmentChat.StreamEmulator.StreamCaller.Server, new System.Text.Json.Nodes.JsonObject
        {
            [intruder] = new System.Text.Json.Nodes.JsonObject { ["id"] = intruder },
        });
        store.GetOrCreateChannel(new AppointmentChat.StreamEmulator.StreamCaller(false, intruder, DateTimeOffset.UtcNow), "messaging", s.ChannelId,
            new System.Text.Json.Nodes.JsonObject { ["members"] = new System.Text.Json.Nodes.JsonArray(intruder), ["name"] = "Send your card details here" });

        await s.CreateChatOkAsync(stack.App);

        var channel = s.StreamChannel(stack.Emulator)!;
        Assert.Equal(new[] { s.PetOwnerId, s.VetId }.Order(), channel["members"]!.AsArray().Select(m => m!["user_id"]!.GetValue<string>()).Order());
        Assert.Equal("Chat with Alex Owner", Scenario.Custom(channel, "name"));
        Assert.Equal(s.AppointmentId, Scenario.Custom(channel, "appointmentId"));
        Assert.Contains(stack.App.Logs.Lines, l => l.Message.Contains("not the appointment's", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ABodyThatDisagreesWithTheRecordGets409AndNothingIsCreated()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        var start = SoonStart;
        await s.PushAsync(stack.App, start);
        var owner = stack.App.ClientFor(s.PetOwnerId, "pet-owner");

        await (await s.CreateChatAsync(owner, new { appointmentId = s.AppointmentId, petOwnerId = s.PetOwnerId, vetId = "someone-else" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await s.CreateChatAsync(owner, new { appointmentId = s.AppointmentId, petOwnerId = "someone-else" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await s.CreateChatAsync(owner, new { appointmentId = s.AppointmentId, appointmentTime = start.AddHours(1).ToString("O") })).ShouldBeProblemAsync(HttpStatusCode.Conflict);

        Assert.Null(s.StreamChannel(stack.Emulator));
        Assert.Null(await stack.App.InDatabaseAsync(db => db.Chats.Where(a => a.AppointmentId == s.AppointmentId).Select(a => a.ChannelId).SingleAsync()));

        // The guide's full body, agreeing with the record, is fine.
        var body = new { appointmentId = s.AppointmentId, petOwnerId = s.PetOwnerId, vetId = s.VetId, appointmentTime = start.ToString("O"), activationMinutes = 5 };
        await (await s.CreateChatAsync(owner, body)).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task TheVetAnAdminOfTheOrganisationAndTheServiceMayCreateTooNobodyElse()
    {
        var stack = await fixture.StartAsync();
        foreach (var (caller, allowed) in new (Func<Scenario, HttpClient> Client, bool Allowed)[]
        {
            (s => stack.App.ClientFor(s.VetId, "vet"), true),
            (s => stack.App.ClientFor("admin-1", "admin", s.Org), true),
            (s => stack.App.ClientFor("pms", "service"), true),
            (s => stack.App.ClientFor(Ids.New("owner"), "pet-owner"), false),
            (s => stack.App.ClientFor(Ids.New("vet"), "vet", s.Org), false),
            (s => stack.App.ClientFor("admin-2", "admin", "other-clinic"), false),
        })
        {
            var s = Scenario.New();
            await s.PushAsync(stack.App, SoonStart);
            var response = await s.CreateChatAsync(caller(s));
            if (allowed)
            {
                await response.ShouldBeOkJsonAsync();
            }
            else
            {
                await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
                Assert.Null(s.StreamChannel(stack.Emulator));
            }
        }
    }

    [Fact]
    public async Task AnUnknownAppointmentIs404ForTheServiceAndLooksLikeSomeoneElsesToEveryoneElse()
    {
        var stack = await fixture.StartAsync();
        var mine = Scenario.New();
        await mine.PushAsync(stack.App, SoonStart);
        var stranger = stack.App.ClientFor(Ids.New("owner"), "pet-owner");

        await (await Scenario.New().CreateChatAsync(stack.App.ClientFor("pms", "service"))).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        var unknown = await (await Scenario.New().CreateChatAsync(stranger)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        var notMine = await (await mine.CreateChatAsync(stranger)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(unknown.GetProperty("detail").GetString(), notMine.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("cancelled")]
    [InlineData("no-show")]
    public async Task ACancelledOrNoShowAppointmentGetsNoChat(string status)
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart, status);

        await (await s.CreateChatAsync(stack.App.ClientFor(s.PetOwnerId, "pet-owner"))).ShouldBeProblemAsync(HttpStatusCode.Conflict);

        Assert.Null(s.StreamChannel(stack.Emulator));
    }

    [Fact]
    public async Task AnAppointmentWhoseWindowHasClosedGetsNoChat()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddHours(-3));

        await (await s.CreateChatAsync(stack.App.ClientFor(s.PetOwnerId, "pet-owner"))).ShouldBeProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task TwentyConcurrentCreatesAnswerTheSameAndLeaveOneChannelAndOneRecord()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);
        var owner = stack.App.ClientFor(s.PetOwnerId, "pet-owner");
        var vet = stack.App.ClientFor(s.VetId, "vet");

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => s.CreateChatAsync(i % 2 == 0 ? owner : vet)));

        var bodies = await Task.WhenAll(responses.Select(r => r.ShouldBeOkJsonAsync()));
        Assert.Single(bodies.Select(b => b.GetRawText()).Distinct());
        Assert.Single(stack.Emulator.Store.ChannelIds(), c => c == $"messaging:{s.ChannelId}");
        Assert.Equal(1, await stack.App.InDatabaseAsync(db => db.Chats.CountAsync(a => a.ChannelId == s.ChannelId)));
    }

    [Fact]
    public async Task OpeningAnExistingChatMakesNoStreamCall()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);
        var first = await s.CreateChatOkAsync(stack.App);
        var calls = stack.Emulator.Calls.Count;

        var again = await s.CreateChatOkAsync(stack.App);

        Assert.Equal(first.GetRawText(), again.GetRawText());
        Assert.Equal(calls, stack.Emulator.Calls.Count);
    }

    [Fact]
    public async Task TheVetEndsTheChatWithOneSystemMessageAndAPartialUpdateThatKeepsTheCustomData()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);
        await s.CreateChatOkAsync(stack.App);
        var vet = stack.App.ClientFor(s.VetId, "vet");

        var ended = await (await s.EndAsync(vet)).ShouldBeOkJsonAsync();
        var again = await (await s.EndAsync(vet)).ShouldBeOkJsonAsync();

        Assert.True(ended.GetProperty("success").GetBoolean());
        Assert.True(again.GetProperty("success").GetBoolean());
        var channel = s.StreamChannel(stack.Emulator)!;
        var message = Assert.Single(Scenario.Messages(channel));
        Assert.Equal("This chat has been ended by the veterinary practice.", message!["text"]!.GetValue<string>());
        Assert.Equal("system", message["user"]!["id"]!.GetValue<string>());
        Assert.True(Scenario.Frozen(channel));
        Assert.Equal("ended", Scenario.Custom(channel, "status"));
        Assert.Equal(s.AppointmentId, Scenario.Custom(channel, "appointmentId"));
        Assert.Equal("Chat with Alex Owner", Scenario.Custom(channel, "name"));
        Assert.Equal("Rex", Scenario.Custom(channel, "petName"));
        Assert.Equal(s.Org, Scenario.Custom(channel, "organisationId"));
        Assert.Equal(SendOutcome.Frozen, Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "hello?"));

        var record = await stack.App.InDatabaseAsync(db => db.Chats.AsNoTracking().SingleAsync(a => a.AppointmentId == s.AppointmentId));
        Assert.Equal(ChatStatus.Ended, record.Status);
        Assert.Equal(s.VetId, record.EndedBy);
        Assert.NotNull(record.EndedAt);
        Assert.Null(record.SyncDue);

        var read = await (await stack.App.ClientFor(s.PetOwnerId, "pet-owner").GetAsync($"/api/appointments/{s.AppointmentId}")).ShouldBeOkJsonAsync();
        Assert.Equal("ended", read.GetProperty("chatStatus").GetString());
    }

    [Fact]
    public async Task ConcurrentEndsSendOneMessage()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);
        await s.CreateChatOkAsync(stack.App);
        var vet = stack.App.ClientFor(s.VetId, "vet");
        var pms = stack.App.ClientFor("pms", "service");

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => s.EndAsync(i % 2 == 0 ? vet : pms)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single(Scenario.Messages(s.StreamChannel(stack.Emulator)!));
    }

    [Fact]
    public async Task OnlyTheVetAnAdminOfTheOrganisationOrTheServiceMayEndAChat()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);
        await s.CreateChatOkAsync(stack.App);

        await (await s.EndAsync(stack.App.ClientFor(s.PetOwnerId, "pet-owner"))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await s.EndAsync(stack.App.ClientFor(Ids.New("vet"), "vet", s.Org))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await s.EndAsync(stack.App.ClientFor("admin-2", "admin", "other-clinic"))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        Assert.Empty(Scenario.Messages(s.StreamChannel(stack.Emulator)!));

        await (await s.EndAsync(stack.App.ClientFor("admin-1", "admin", s.Org))).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task EndingAnUnknownChatIs404ForTheService403ForOthersAndABadIdIs400()
    {
        var stack = await fixture.StartAsync();
        var unknown = Scenario.New();

        await (await unknown.EndAsync(stack.App.ClientFor("pms", "service"))).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await unknown.EndAsync(stack.App.ClientFor(Ids.New("vet"), "vet"))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await stack.App.ClientFor("pms", "service").PostAsync("/api/chat/channels/messaging-appointment-1/end", null)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "channelId");
    }

    [Theory]
    [InlineData("""{}""", "appointmentId")]
    [InlineData("""{"appointmentId":""}""", "appointmentId")]
    [InlineData("""{"appointmentId":"has space"}""", "appointmentId")]
    [InlineData("""{"appointmentId":"ok-1","vetId":"vet 1"}""", "vetId")]
    [InlineData("""{"appointmentId":"ok-1","activationMinutes":-5}""", "activationMinutes")]
    [InlineData("""{"appointmentId":"ok-1","appointmentTime":"2030-01-15 14:00:00"}""", "appointmentTime")]
    [InlineData("""{"appointmentId":"ok-1","members":["x"]}""", "members")]
    [InlineData("""{"appointmentId":5}""", "appointmentId")]
    public async Task BadCreateBodiesGet400NamingTheField(string body, string field)
    {
        var stack = await fixture.StartAsync();

        var response = await stack.App.ClientFor("owner-1", "pet-owner").PostRawAsync("/api/chat/channels", body);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);
    }
}

public sealed class ChannelApiTestsOnSqlite(SqliteWithEmulator fixture) : ChannelApiTests(fixture), IClassFixture<SqliteWithEmulator>;

public sealed class ChannelApiTestsOnPostgres(PostgresWithEmulator fixture) : ChannelApiTests(fixture), IClassFixture<PostgresWithEmulator>;
