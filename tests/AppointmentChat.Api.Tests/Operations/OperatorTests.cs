using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.Api.Webhooks;
using AppointmentChat.StreamEmulator;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>
/// /api/operator: dead webhooks, chats the scheduler keeps failing on and pushes given up are listed with their last
/// error, retried or discarded by an operator (or the service), and every action is in the audit list with who did it.
/// </summary>
public abstract class OperatorTests(OperatorFixture fixture)
{
    /// <summary>The answer, checked against the OpenAPI document's schema for its operation and status.</summary>
    private static async Task<HttpResponseMessage> DocumentedAsync(HttpResponseMessage response)
    {
        using var client = new HttpClient { BaseAddress = new Uri(response.RequestMessage!.RequestUri!.GetLeftPart(UriPartial.Authority)) };
        var contract = ApiContract.From(await (await client.GetAsync("/openapi/v1.json")).ShouldBeOkJsonAsync());
        await contract.Check(response);
        Assert.True(contract.Failures.Count == 0, string.Join("\n", contract.Failures));
        return response;
    }

    private static async Task<List<JsonElement>> ListAsync(HttpClient client, string kind)
    {
        var body = await (await DocumentedAsync(await client.GetAsync($"/api/operator/{kind}"))).ShouldBeOkJsonAsync();
        return [.. body.GetProperty(kind).EnumerateArray()];
    }

    private static async Task<List<JsonElement>> AuditOfAsync(HttpClient client, string actorId)
    {
        var body = await (await DocumentedAsync(await client.GetAsync("/api/operator/audit?limit=500"))).ShouldBeOkJsonAsync();
        return [.. body.GetProperty("actions").EnumerateArray().Where(a => a.GetProperty("actorId").GetString() == actorId).Reverse()];
    }

    private static void AssertAudited(JsonElement entry, string role, string action, string kind, string itemId, string outcome)
    {
        Assert.Equal(role, entry.GetProperty("actorRoles").GetString());
        Assert.Equal(action, entry.GetProperty("action").GetString());
        Assert.Equal(kind, entry.GetProperty("kind").GetString());
        Assert.Equal(itemId, entry.GetProperty("itemId").GetString());
        Assert.Equal(outcome, entry.GetProperty("outcome").GetString());
    }

    private static async Task<Scenario> OpenChatAsync(ServiceWithEmulator stack)
    {
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await s.CreateChatOkAsync(stack.App);
        return s;
    }

    /// <summary>A chat whose reschedule Stream refuses: the scheduler records the error and retries with backoff.</summary>
    private static async Task<Scenario> FailingChatAsync(ServiceWithEmulator stack)
    {
        var s = await OpenChatAsync(stack);
        stack.Emulator.Faults.Add(new FaultRule { Status = 400, PathContains = "/" + s.ChannelId, Times = 0 });
        await (await stack.App.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddDays(2))))
            .ShouldBeOkJsonAsync();
        return s;
    }

    private static async Task<JsonElement> ListedChatAsync(HttpClient client, Scenario s, int attempts)
    {
        JsonElement found = default;
        await Eventually.TrueAsync(async () =>
        {
            found = (await ListAsync(client, "chats")).FirstOrDefault(c => c.GetProperty("appointmentId").GetString() == s.AppointmentId);
            return found.ValueKind == JsonValueKind.Object && found.GetProperty("attempts").GetInt32() >= attempts;
        }, $"the chat to be listed after {attempts} failed attempt(s)", TimeSpan.FromSeconds(20));
        return found;
    }

    [Fact]
    public async Task AFailingChatIsListedWithItsErrorAndARetryBringsItInLineAtOnceOnceStreamIsBack()
    {
        var stack = await fixture.StartAsync();
        var opsId = Ids.New("ops");
        var ops = stack.App.ClientFor(opsId, "operator");
        try
        {
            var s = await FailingChatAsync(stack);

            // Two failures: the scheduler's own next try is 10 s away, so only the retry can explain a quick success.
            var listed = await ListedChatAsync(ops, s, attempts: 2);
            Assert.Equal(s.ChannelId, listed.GetProperty("channelId").GetString());
            Assert.Equal(s.Org, listed.GetProperty("organisationId").GetString());
            Assert.False(string.IsNullOrEmpty(listed.GetProperty("error").GetString()));
            Assert.True(listed.GetProperty("retryAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddSeconds(5));

            stack.Emulator.Faults.Clear();
            var retried = await (await DocumentedAsync(await ops.PostAsync($"/api/operator/chats/{s.AppointmentId}/retry", null))).ShouldBeOkJsonAsync();
            Assert.Equal(0, retried.GetProperty("attempts").GetInt32());

            await Eventually.TrueAsync(
                async () => await stack.App.InDatabaseAsync(db => db.Chats.AnyAsync(c => c.AppointmentId == s.AppointmentId && c.SyncError == null)),
                "the chat to be in line with Stream", TimeSpan.FromSeconds(4));
            Assert.True(Scenario.Frozen(s.StreamChannel(stack.Emulator)!), "rescheduled two days ahead, the chat is pending again: frozen");
            Assert.DoesNotContain(await ListAsync(ops, "chats"), c => c.GetProperty("appointmentId").GetString() == s.AppointmentId);

            // Nothing left to retry: a specific 404, audited too.
            await (await ops.PostAsync($"/api/operator/chats/{s.AppointmentId}/retry", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "problem-not-found");
            var audit = await AuditOfAsync(ops, opsId);
            Assert.Equal(2, audit.Count);
            AssertAudited(audit[0], "operator", "retry", "chat", s.AppointmentId, "done");
            Assert.False(string.IsNullOrEmpty(audit[0].GetProperty("error").GetString()));
            AssertAudited(audit[1], "operator", "retry", "chat", s.AppointmentId, "not-found");
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }

    [Fact]
    public async Task ADiscardedChatIsNoLongerRetriedKeepsItsErrorAndCanStillBeRetriedLater()
    {
        var stack = await fixture.StartAsync();
        var opsId = Ids.New("ops");
        var ops = stack.App.ClientFor(opsId, "operator");
        try
        {
            var s = await FailingChatAsync(stack);
            var listed = await ListedChatAsync(ops, s, attempts: 1);
            var due = listed.GetProperty("retryAt").GetDateTimeOffset();

            var discarded = await (await DocumentedAsync(await ops.PostAsync($"/api/operator/chats/{s.AppointmentId}/discard", null))).ShouldBeOkJsonAsync();
            Assert.False(discarded.TryGetProperty("retryAt", out _));
            Assert.DoesNotContain(await ListAsync(ops, "chats"), c => c.GetProperty("appointmentId").GetString() == s.AppointmentId);

            // Past the time it was due again: not tried.
            var attempts = await stack.App.InDatabaseAsync(db => db.Chats.Where(c => c.AppointmentId == s.AppointmentId).Select(c => c.SyncAttempts).SingleAsync());
            await Task.Delay(due - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1.5));
            var chat = await stack.App.InDatabaseAsync(db => db.Chats.AsNoTracking().SingleAsync(c => c.AppointmentId == s.AppointmentId));
            Assert.Null(chat.SyncDue);
            Assert.Equal(attempts, chat.SyncAttempts);
            Assert.NotNull(chat.SyncError);
            Assert.False(Scenario.Frozen(s.StreamChannel(stack.Emulator)!), "Stream keeps the chat as it was");
            await (await ops.PostAsync($"/api/operator/chats/{s.AppointmentId}/discard", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "problem-not-found");

            stack.Emulator.Faults.Clear();
            await (await DocumentedAsync(await ops.PostAsync($"/api/operator/chats/{s.AppointmentId}/retry", null))).ShouldBeOkJsonAsync();
            await Eventually.TrueAsync(() => Scenario.Frozen(s.StreamChannel(stack.Emulator)!), "the discarded chat, retried, to be brought in line");

            var audit = await AuditOfAsync(ops, opsId);
            AssertAudited(audit[0], "operator", "discard", "chat", s.AppointmentId, "done");
            AssertAudited(audit[1], "operator", "discard", "chat", s.AppointmentId, "not-found");
            AssertAudited(audit[2], "operator", "retry", "chat", s.AppointmentId, "done");
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }

    [Fact]
    public async Task AChatAScheduledPassHoldsCannotBeActedOnUntilThePassEnds()
    {
        var stack = await fixture.StartAsync();
        var ops = stack.App.ClientFor(Ids.New("ops"), "operator");
        try
        {
            var s = await FailingChatAsync(stack);
            await ListedChatAsync(ops, s, attempts: 1);
            // As a pass on another instance would hold it.
            await stack.App.InDatabaseAsync(db => db.Chats.Where(c => c.AppointmentId == s.AppointmentId)
                .ExecuteUpdateAsync(set => set.SetProperty(c => c.LeaseUntil, DateTimeOffset.UtcNow.AddMinutes(1)).SetProperty(c => c.LeaseOwner, "another-instance")));

            await (await ops.PostAsync($"/api/operator/chats/{s.AppointmentId}/retry", null)).ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "problem-busy");
            await (await ops.PostAsync($"/api/operator/chats/{s.AppointmentId}/discard", null)).ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "problem-busy");
            await (await ops.PostAsync("/api/operator/chats/not%20an%20id/retry", null)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "appointmentId");
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }

    [Fact]
    public async Task AGivenUpPushIsListedAndCanBeRetriedToTheDeviceOrDiscarded()
    {
        var stack = await fixture.StartAsync();
        var fcm = fixture.Fcm;
        var opsId = Ids.New("ops");
        var ops = stack.App.ClientFor(opsId, "operator");
        var s = await OpenChatAsync(stack);
        var device = $"down-{Guid.NewGuid():N}";
        fcm.Unavailable[device] = true;
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, device);

        Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "are you there?");
        JsonElement push = default;
        await Eventually.TrueAsync(async () =>
        {
            push = (await ListAsync(ops, "pushes")).FirstOrDefault(p => p.GetProperty("recipientUserId").GetString() == s.VetId);
            return push.ValueKind == JsonValueKind.Object;
        }, "the push to be given up and listed");
        Assert.Equal(s.AppointmentId, push.GetProperty("appointmentId").GetString());
        Assert.Equal(s.ChannelId, push.GetProperty("channelId").GetString());
        Assert.Contains("UNAVAILABLE", push.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(fcm.DeliveredTo(device));

        fcm.Unavailable.TryRemove(device, out _);
        var id = push.GetProperty("id").GetInt64();
        var retried = await (await DocumentedAsync(await ops.PostAsync($"/api/operator/pushes/{id}/retry", null))).ShouldBeOkJsonAsync();
        Assert.Equal(0, retried.GetProperty("attempts").GetInt32());
        await Eventually.TrueAsync(() => fcm.DeliveredTo(device).Any(), "the retried push to reach the device");

        fcm.Unavailable[device] = true;
        Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "hello?");
        long second = 0;
        await Eventually.TrueAsync(async () =>
        {
            var listed = (await ListAsync(ops, "pushes")).FirstOrDefault(p => p.GetProperty("recipientUserId").GetString() == s.VetId);
            second = listed.ValueKind == JsonValueKind.Object ? listed.GetProperty("id").GetInt64() : 0;
            return second != 0;
        }, "the second push to be given up");
        fcm.Unavailable.TryRemove(device, out _);
        await (await DocumentedAsync(await ops.PostAsync($"/api/operator/pushes/{second}/discard", null))).ShouldBeOkJsonAsync();
        Assert.Equal(NotificationStatus.Discarded, await stack.App.InDatabaseAsync(db => db.Notifications.Where(n => n.Id == second).Select(n => n.Status).SingleAsync()));
        Assert.DoesNotContain(await ListAsync(ops, "pushes"), p => p.GetProperty("id").GetInt64() == second);
        await (await ops.PostAsync($"/api/operator/pushes/{second}/retry", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "problem-not-found");
        await Task.Delay(500);
        Assert.Single(fcm.DeliveredTo(device));

        var audit = await AuditOfAsync(ops, opsId);
        Assert.Equal(3, audit.Count);
        AssertAudited(audit[0], "operator", "retry", "push", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "done");
        AssertAudited(audit[1], "operator", "discard", "push", second.ToString(System.Globalization.CultureInfo.InvariantCulture), "done");
        AssertAudited(audit[2], "operator", "retry", "push", second.ToString(System.Globalization.CultureInfo.InvariantCulture), "not-found");
    }

    [Fact]
    public async Task DeadWebhooksAreListedAndCanBeRetriedOrDiscardedByTheServiceRoleToo()
    {
        var stack = await fixture.StartAsync();
        var pms = stack.App.ClientFor("pms-automation", "service");
        var s = await OpenChatAsync(stack);
        var (first, second) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var poison = new JsonObject { ["type"] = "message.new", ["channel_id"] = s.ChannelId, ["channel_type"] = "messaging", ["message"] = "not an object" }.ToJsonString();
        foreach (var id in new[] { first, second })
        {
            await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(poison, id))).ShouldBeOkJsonAsync();
        }

        var dead = new List<InboxEvent>();
        foreach (var id in new[] { first, second })
        {
            dead.Add(await WebhookTestData.ProcessedAsync(stack.App, "id:" + id));
        }

        var listed = await ListAsync(pms, "webhooks");
        foreach (var e in dead)
        {
            Assert.Equal(InboxStatus.Dead, e.Status);
            Assert.Contains(listed, w => w.GetProperty("id").GetInt64() == e.Id && w.GetProperty("channelId").GetString() == s.ChannelId && w.GetProperty("error").GetString()!.Length > 0);
        }

        var retried = await (await DocumentedAsync(await pms.PostAsync($"/api/operator/webhooks/{dead[0].Id}/retry", null))).ShouldBeOkJsonAsync();
        Assert.Equal(0, retried.GetProperty("attempts").GetInt32());
        await (await DocumentedAsync(await pms.PostAsync($"/api/operator/webhooks/{dead[1].Id}/discard", null))).ShouldBeOkJsonAsync();
        var discarded = (await WebhookTestData.InboxAsync(stack.App, e => e.Id == dead[1].Id)).Single();
        Assert.Equal(InboxStatus.Discarded, discarded.Status);
        Assert.NotNull(discarded.Note);
        Assert.DoesNotContain(await ListAsync(pms, "webhooks"), w => w.GetProperty("id").GetInt64() == dead[1].Id);
        await (await pms.PostAsync($"/api/operator/webhooks/{dead[1].Id}/retry", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "problem-not-found");

        // The retried one is processed again (and, still poison, parked again after its attempts).
        await Eventually.TrueAsync(async () => (await WebhookTestData.InboxAsync(stack.App, e => e.Id == dead[0].Id)).Single() is { Status: InboxStatus.Dead, Attempts: 3 }, "the retried event to be processed again");

        var audit = await AuditOfAsync(pms, "pms-automation");
        Assert.True(audit.Count >= 3);
        AssertAudited(audit[^3], "service", "retry", "webhook", dead[0].Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "done");
        AssertAudited(audit[^2], "service", "discard", "webhook", dead[1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "done");
        AssertAudited(audit[^1], "service", "retry", "webhook", dead[1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "not-found");
        Assert.Contains(stack.App.Logs.Lines, l => l.Category.EndsWith("OperatorAudit", StringComparison.Ordinal) && l.Message.Contains("pms-automation", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> Refused() => new()
    {
        { "vet", "GET /api/operator/webhooks" }, { "pet-owner", "GET /api/operator/chats" }, { "admin", "GET /api/operator/pushes" },
        { "admin", "GET /api/operator/audit" }, { "vet", "POST /api/operator/webhooks/1/retry" }, { "pet-owner", "POST /api/operator/pushes/1/discard" },
        { "admin", "POST /api/operator/chats/apt-1/retry" }, { "admin", "POST /api/operator/chats/apt-1/discard" },
        { "admin", "GET /api/operator/transcripts" }, { "vet", "POST /api/operator/transcripts/1/retry" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task OnlyOperatorsAndTheServiceReachTheOperatorSurface(string role, string call)
    {
        var stack = await fixture.StartAsync();
        var (method, path) = (call.Split(' ')[0], call.Split(' ')[1]);
        var response = await stack.App.ClientFor(Ids.New(role), role, "clinic-1").SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "forbidden");
        await (await stack.App.AnonymousClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path))).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task UnknownIdsAreASpecific404AndABadLimitA400()
    {
        var stack = await fixture.StartAsync();
        var ops = stack.App.ClientFor(Ids.New("ops"), "operator");
        foreach (var path in new[] { "webhooks/999999999/retry", "webhooks/999999999/discard", "pushes/999999999/retry", "pushes/999999999/discard", "chats/no-such-appointment/retry", "chats/no-such-appointment/discard" })
        {
            await (await ops.PostAsync("/api/operator/" + path, null)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "problem-not-found");
        }

        foreach (var list in new[] { "webhooks", "chats", "pushes", "audit" })
        {
            await (await ops.GetAsync($"/api/operator/{list}?limit=0")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit");
            await (await ops.GetAsync($"/api/operator/{list}?limit=501")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "limit");
            await (await ops.GetAsync($"/api/operator/{list}?limit=1")).ShouldBeOkJsonAsync();
        }
    }
}

/// <summary>The service with the emulator as Stream and a fake FCM; a push gives up at its first failure.</summary>
public abstract class OperatorFixture(DatabaseKind kind) : StackFixture(kind)
{
    public FakeFcm Fcm { get; private set; } = null!;

    protected override async Task<ServiceWithEmulator> CreateAsync()
    {
        Fcm = Own(await FakeFcm.StartAsync());
        var settings = WebhookFixture.Settings(Fcm);
        settings["Push:MaxAttempts"] = "1";
        return Own(await ServiceWithEmulator.StartAsync(Kind, settings));
    }
}

public sealed class SqliteOperatorApp() : OperatorFixture(DatabaseKind.Sqlite);

public sealed class PostgresOperatorApp() : OperatorFixture(DatabaseKind.Postgres);

public sealed class OperatorTestsOnSqlite(SqliteOperatorApp fixture) : OperatorTests(fixture), IClassFixture<SqliteOperatorApp>;

public sealed class OperatorTestsOnPostgres(PostgresOperatorApp fixture) : OperatorTests(fixture), IClassFixture<PostgresOperatorApp>;
