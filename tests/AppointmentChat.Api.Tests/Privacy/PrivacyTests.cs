using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Privacy;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Operations;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.Api.Webhooks;
using AppointmentChat.StreamEmulator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Privacy;

/// <summary>
/// /api/privacy: a user's data exported (what the service and Stream hold) and erased (Stream's user deletion and every
/// local row), idempotent, resumed after a failure, audited without the erased data; admins of the user's organisation
/// and the service only.
/// </summary>
public abstract class PrivacyTests(PrivacyFixture fixture)
{
    private const string OwnerText = "Rex is limping on his left paw";
    private const string VetText = "Bring him in at four";

    private static async Task<HttpResponseMessage> DocumentedAsync(HttpResponseMessage response)
    {
        using var client = new HttpClient { BaseAddress = new Uri(response.RequestMessage!.RequestUri!.GetLeftPart(UriPartial.Authority)) };
        var contract = ApiContract.From(await (await client.GetAsync("/openapi/v1.json")).ShouldBeOkJsonAsync());
        await contract.Check(response);
        Assert.True(contract.Failures.Count == 0, string.Join("\n", contract.Failures));
        return response;
    }

    /// <summary>An open chat in which the owner and the vet each wrote, each with a phone that got the other's push.</summary>
    private async Task<(Scenario Scenario, string OwnerPhone, string VetPhone)> ConversationAsync(ServiceWithEmulator stack, string org = "clinic-1")
    {
        var s = Scenario.New(org);
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await s.CreateChatOkAsync(stack.App);
        var (ownerPhone, vetPhone) = ($"owner-phone-{Guid.NewGuid():N}", $"vet-phone-{Guid.NewGuid():N}");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.PetOwnerId, ownerPhone, "ios");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone, "web");
        Assert.Equal(SendOutcome.Sent, Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, OwnerText));
        await Eventually.TrueAsync(() => fixture.Fcm.DeliveredTo(vetPhone).Any(), "the vet's push");
        Assert.Equal(SendOutcome.Sent, Scenario.UserSend(stack.Emulator, s, s.VetId, VetText));
        await Eventually.TrueAsync(() => fixture.Fcm.DeliveredTo(ownerPhone).Any(), "the owner's push");
        await Eventually.TrueAsync(
            async () => await stack.App.InDatabaseAsync(db => db.Chats.AnyAsync(c => c.AppointmentId == s.AppointmentId && c.LastMessageText == VetText)),
            "the chat list to show the vet's answer");
        await SettledAsync(stack);
        return (s, ownerPhone, vetPhone);
    }

    /// <summary>Every webhook Stream sent so far is stored and processed: none arrives during the erasure that follows.</summary>
    private static Task SettledAsync(ServiceWithEmulator stack) => Eventually.TrueAsync(
        async () => stack.Emulator.Webhooks.All(w => w.Outcome != "pending")
            && !await stack.App.InDatabaseAsync(db => db.InboxEvents.AnyAsync(e => e.Status == InboxStatus.Pending)),
        "the webhooks to be delivered and processed");

    /// <summary>
    /// Waits for the events Stream sent about the erasure itself (the user's messages deleted, the user deleted) to be
    /// processed, then brings the erasure's second run of its local steps forward from a minute after completion to now.
    /// </summary>
    private static async Task LateEventsSweptAsync(ServiceWithEmulator stack, long erasureId)
    {
        await SettledAsync(stack);
        await stack.App.InDatabaseAsync(db => db.Erasures.Where(e => e.Id == erasureId)
            .ExecuteUpdateAsync(set => set.SetProperty(e => e.NextAttemptAt, DateTimeOffset.UtcNow.AddSeconds(-1))));
        stack.App.Services.GetRequiredService<ErasureSignal>().Wake();
        await Eventually.TrueAsync(
            async () => await stack.App.InDatabaseAsync(db => db.Erasures.AnyAsync(e => e.Id == erasureId && e.NextAttemptAt == null)),
            "the erasure's local steps to run once more");
    }

    private static Task<HttpResponseMessage> EraseAsync(HttpClient client, string userId, object? options = null) =>
        client.PostJsonAsync($"/api/privacy/users/{userId}/erasure", options ?? new { });

    [Fact]
    public async Task TheExportHoldsWhatTheServiceAndStreamKeepAboutTheUserAndNothingOfOthers()
    {
        var stack = await fixture.StartAsync();
        var (s, ownerPhone, _) = await ConversationAsync(stack);

        var export = await (await DocumentedAsync(await stack.App.ClientFor("pms", "service").GetAsync($"/api/privacy/users/{s.PetOwnerId}/export"))).ShouldBeOkJsonAsync();

        Assert.Equal(s.PetOwnerId, export.GetProperty("userId").GetString());
        Assert.Equal("Alex Owner", export.GetProperty("chatUser").GetProperty("name").GetString());
        var appointment = Assert.Single(export.GetProperty("appointments").EnumerateArray());
        Assert.Equal(s.AppointmentId, appointment.GetProperty("id").GetString());
        Assert.Equal("pet-owner", appointment.GetProperty("role").GetString());
        Assert.Equal("Alex Owner", appointment.GetProperty("petOwnerName").GetString());
        Assert.Equal(VetText, appointment.GetProperty("lastMessageText").GetString());
        var device = Assert.Single(export.GetProperty("devices").EnumerateArray());
        Assert.Equal(ownerPhone[^8..], device.GetProperty("tokenEnding").GetString());
        Assert.DoesNotContain(ownerPhone, export.GetRawText(), StringComparison.Ordinal); // a push token is a credential
        var push = Assert.Single(export.GetProperty("pushes").EnumerateArray());
        Assert.Equal(VetText, push.GetProperty("body").GetString());
        Assert.Contains(export.GetProperty("webhookEvents").EnumerateArray(),
            e => e.GetProperty("eventType").GetString() == "message.new" && e.GetProperty("payload").GetRawText().Contains(OwnerText, StringComparison.Ordinal));

        var streamPart = export.GetProperty("stream");
        Assert.Equal(s.PetOwnerId, streamPart.GetProperty("user").GetProperty("id").GetString());
        var message = Assert.Single(streamPart.GetProperty("messages").EnumerateArray());
        Assert.Equal(OwnerText, message.GetProperty("text").GetString());
        Assert.Equal(s.ChannelId, message.GetProperty("channelId").GetString());
        Assert.False(export.TryGetProperty("erasure", out _));
    }

    [Fact]
    public async Task AHardErasureDeletesTheUserInStreamAndEveryLocalRowAndASecondRequestAnswersTheSameRecord()
    {
        var stack = await fixture.StartAsync();
        var (s, ownerPhone, vetPhone) = await ConversationAsync(stack);
        await (await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"))).ShouldBeOkJsonAsync();
        await SettledAsync(stack);
        var admin = stack.App.ClientFor(Ids.New("admin"), "admin", s.Org);

        var erased = await (await DocumentedAsync(await EraseAsync(admin, s.PetOwnerId, new { user = "hard" }))).ShouldBeOkJsonAsync();

        Assert.Equal("completed", erased.GetProperty("status").GetString());
        Assert.Equal("hard", erased.GetProperty("streamUser").GetString());
        Assert.Equal("hard", erased.GetProperty("streamMessages").GetString());
        var steps = erased.GetProperty("steps").EnumerateArray().ToDictionary(x => x.GetProperty("name").GetString()!, x => x.GetProperty("count").GetInt32());
        Assert.Equal(Erasures.StepNames, steps.Keys);
        Assert.Equal(1, steps[Erasures.StreamUserStep]);
        Assert.Equal(2, steps[Erasures.NamesStep]); // the chat user's row and the appointment's name
        Assert.Equal(1, steps[Erasures.PreviewsStep]);
        Assert.Equal(1, steps[Erasures.DevicesStep]);
        Assert.Equal(1, steps[Erasures.UnreadStep]); // the owner's count of the vet's message and the end message
        Assert.False(await stack.App.InDatabaseAsync(db => db.Set<AppointmentChat.Api.Unread.UnreadCount>().AnyAsync(u => u.UserId == s.PetOwnerId)));
        Assert.True(steps[Erasures.PushesStep] >= 3, "the owner's push, its delivery, and the vet's push that carried the owner's words");
        Assert.True(steps[Erasures.WebhooksStep] >= 1);
        var kept = Assert.Single(erased.GetProperty("kept").EnumerateArray());
        Assert.Equal("clinical-record", kept.GetProperty("reason").GetString());
        Assert.Equal(["appointment"], kept.GetProperty("kept").EnumerateArray().Select(k => k.GetString()));

        // Stream: the user, its membership and its messages are gone; the vet's stay; user.deleted was sent.
        Assert.Null(stack.Emulator.Store.FindUser(s.PetOwnerId));
        var channel = s.StreamChannel(stack.Emulator)!;
        Assert.Equal([VetText], Scenario.Messages(channel).Where(m => m!["type"]!.GetValue<string>() == "regular").Select(m => m!["text"]!.GetValue<string>()));
        Assert.Contains(stack.Emulator.Webhooks, w => w.EventType == "user.deleted" && System.Text.Encoding.UTF8.GetString(w.Body).Contains(s.PetOwnerId, StringComparison.Ordinal));

        // Locally, once the events Stream sent about the deletion are in and the local steps ran once more: no name,
        // preview, device, push or stored body of theirs.
        await LateEventsSweptAsync(stack, erased.GetProperty("id").GetInt64());
        var (chatUser, appointment, chat) = await stack.App.InDatabaseAsync(async db => (
            await db.ChatUsers.AnyAsync(u => u.Id == s.PetOwnerId),
            await db.Set<AppointmentChat.Api.Appointments.Appointment>().SingleAsync(a => a.Id == s.AppointmentId),
            await db.Chats.SingleAsync(c => c.AppointmentId == s.AppointmentId)));
        Assert.False(chatUser);
        Assert.Null(appointment.PetOwnerName);
        Assert.Equal("Dr. " + s.VetId, appointment.VetName);
        Assert.Null(chat.LastMessageText);
        Assert.False(await stack.App.InDatabaseAsync(db => db.Devices.AnyAsync(d => d.UserId == s.PetOwnerId)));
        Assert.True(await stack.App.InDatabaseAsync(db => db.Devices.AnyAsync(d => d.Token == vetPhone)));
        Assert.False(await stack.App.InDatabaseAsync(db => db.Notifications.AnyAsync(n => n.RecipientUserId == s.PetOwnerId)));
        Assert.False(await stack.App.InDatabaseAsync(db => db.PushDeliveries.AnyAsync(d => d.Token == ownerPhone)));
        Assert.All(await stack.App.InDatabaseAsync(db => db.Notifications.Where(n => n.AppointmentId == s.AppointmentId).ToListAsync()),
            n => Assert.Equal((Erasures.ErasedPushTitle, ""), (n.Title, n.Body)));
        var naming = await stack.App.InDatabaseAsync(db => db.InboxEvents.Where(e => e.Payload.Contains(s.PetOwnerId)).ToListAsync());
        var note = $"Body erased by privacy erasure {erased.GetProperty("id").GetInt64()}.";
        Assert.True(await stack.App.InDatabaseAsync(db => db.InboxEvents.CountAsync(e => e.Note == note && e.Payload == "{}")) >= steps[Erasures.WebhooksStep]);
        // Each settled with a time, so retention deletes it in time (one the erasure found not yet processed included).
        Assert.False(await stack.App.InDatabaseAsync(db => db.InboxEvents.AnyAsync(e => e.Note == note && e.ProcessedAt == null)));
        Assert.DoesNotContain(naming, e => e.Payload.Contains(OwnerText, StringComparison.Ordinal) || e.Payload.Contains("Alex Owner", StringComparison.Ordinal));

        // Idempotent: the same record, steps not run again.
        var again = await (await EraseAsync(admin, s.PetOwnerId, new { user = "soft" })).ShouldBeOkJsonAsync();
        Assert.Equal(erased.GetProperty("id").GetInt64(), again.GetProperty("id").GetInt64());
        Assert.Equal(erased.GetProperty("steps").GetRawText(), again.GetProperty("steps").GetRawText());
        Assert.Equal("hard", again.GetProperty("streamUser").GetString());

        // The audit: who, when, what — and none of what was erased.
        var audit = await (await DocumentedAsync(await admin.GetAsync($"/api/privacy/erasures/{erased.GetProperty("id").GetInt64()}"))).ShouldBeOkJsonAsync();
        Assert.Equal("admin", audit.GetProperty("requestedByRoles").GetString());
        Assert.True(audit.GetProperty("completedAt").GetDateTimeOffset() >= audit.GetProperty("requestedAt").GetDateTimeOffset());
        var row = await stack.App.InDatabaseAsync(db => db.Erasures.SingleAsync(e => e.UserId == s.PetOwnerId));
        foreach (var erasedData in new[] { "Alex Owner", OwnerText, VetText, ownerPhone, ownerPhone[^8..] })
        {
            Assert.DoesNotContain(erasedData, audit.GetRawText(), StringComparison.Ordinal);
            Assert.DoesNotContain(erasedData, JsonSerializer.Serialize(row), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ASoftErasureOfAUserWithAnOpenChatKeepsItsMessagesAndSaysWhyButRefusesToDeleteThem()
    {
        var stack = await fixture.StartAsync();
        var (s, _, _) = await ConversationAsync(stack);
        var service = stack.App.ClientFor("pms", "service");

        // Deleting the messages of a chat that goes on: refused, nothing written.
        await (await DocumentedAsync(await EraseAsync(service, s.PetOwnerId, new { messages = "soft" })))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "erasure-chat-not-ended");
        Assert.False(await stack.App.InDatabaseAsync(db => db.Erasures.AnyAsync(e => e.UserId == s.PetOwnerId)));
        Assert.True(await stack.App.InDatabaseAsync(db => db.ChatUsers.AnyAsync(u => u.Id == s.PetOwnerId)));

        // A webhook naming them that is stored and not processed yet (due long after this test).
        var waiting = new InboxEvent
        {
            DedupKey = "waiting:" + s.PetOwnerId,
            EventType = "message.new",
            Payload = new JsonObject { ["type"] = "message.new", ["user"] = new JsonObject { ["id"] = s.PetOwnerId, ["name"] = "Alex Owner" } }.ToJsonString(),
            ReceivedAt = DateTimeOffset.UtcNow,
            NextAttemptAt = new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
        await stack.App.InDatabaseAsync(db =>
        {
            db.InboxEvents.Add(waiting);
            return db.SaveChangesAsync();
        });

        var erased = await (await DocumentedAsync(await EraseAsync(service, s.PetOwnerId))).ShouldBeOkJsonAsync();
        Assert.Equal(("soft", "keep"), (erased.GetProperty("streamUser").GetString(), erased.GetProperty("streamMessages").GetString()));
        var kept = Assert.Single(erased.GetProperty("kept").EnumerateArray());
        Assert.Equal("chat-not-ended", kept.GetProperty("reason").GetString());
        Assert.Equal(["appointment", "stream-messages"], kept.GetProperty("kept").EnumerateArray().Select(k => k.GetString()));
        Assert.False(string.IsNullOrEmpty(kept.GetProperty("detail").GetString()));

        // Its body erased and never to be processed: settled as ignored, with a time, so retention deletes it in time.
        var settled = await stack.App.InDatabaseAsync(db => db.InboxEvents.AsNoTracking().SingleAsync(e => e.Id == waiting.Id));
        Assert.Equal((InboxStatus.Ignored, "{}", $"Body erased by privacy erasure {erased.GetProperty("id").GetInt64()}."), (settled.Status, settled.Payload, settled.Note));
        Assert.NotNull(settled.ProcessedAt);

        var user = stack.Emulator.Store.FindUser(s.PetOwnerId)!;
        Assert.NotNull(user.DeletedAt);
        Assert.False(user.Custom.ContainsKey("name"));
        Assert.Contains(Scenario.Messages(s.StreamChannel(stack.Emulator)!), m => m!["text"]!.GetValue<string>() == OwnerText && m["type"]!.GetValue<string>() == "regular");
    }

    [Fact]
    public async Task AnErasureThatStreamFailsIsRecordedPendingAndTheNextRequestResumesIt()
    {
        var stack = await fixture.StartAsync();
        var (s, _, _) = await ConversationAsync(stack);
        var service = stack.App.ClientFor("pms", "service");
        try
        {
            stack.Emulator.Faults.Add(new FaultRule { Method = "DELETE", PathContains = "/users/", Status = 503, Times = 0 });
            var pending = await (await DocumentedAsync(await EraseAsync(service, s.PetOwnerId))).ShouldBeOkJsonAsync(HttpStatusCode.Accepted);
            Assert.Equal("pending", pending.GetProperty("status").GetString());
            Assert.Equal(1, pending.GetProperty("attempts").GetInt32());
            Assert.StartsWith(Erasures.StreamUserStep, pending.GetProperty("lastError").GetString(), StringComparison.Ordinal);
            Assert.All(pending.GetProperty("steps").EnumerateArray(), step => Assert.False(step.TryGetProperty("doneAt", out var at) && at.ValueKind != JsonValueKind.Null));
            Assert.NotNull(stack.Emulator.Store.FindUser(s.PetOwnerId));

            var id = pending.GetProperty("id").GetInt64();
            var shown = await (await service.GetAsync($"/api/privacy/erasures/{id}")).ShouldBeOkJsonAsync();
            Assert.Equal("pending", shown.GetProperty("status").GetString());

            stack.Emulator.Faults.Clear();
            var resumed = await (await EraseAsync(service, s.PetOwnerId)).ShouldBeOkJsonAsync();
            Assert.Equal(id, resumed.GetProperty("id").GetInt64());
            Assert.Equal("completed", resumed.GetProperty("status").GetString());
            Assert.False(resumed.TryGetProperty("lastError", out var error) && error.ValueKind != JsonValueKind.Null);
            Assert.NotNull(stack.Emulator.Store.FindUser(s.PetOwnerId)!.DeletedAt);
            Assert.False(await stack.App.InDatabaseAsync(db => db.ChatUsers.AnyAsync(u => u.Id == s.PetOwnerId)));
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }

    [Fact]
    public async Task TheWorkerFinishesAPendingErasureOnItsOwnOnceItsRetryTimeComes()
    {
        var stack = await fixture.StartAsync();
        var (failed, _, _) = await ConversationAsync(stack);
        var (crashed, _, _) = await ConversationAsync(stack);
        var service = stack.App.ClientFor("pms", "service");
        long failedId;
        try
        {
            // One erasure whose Stream step failed: pending, its retry 30 seconds away.
            stack.Emulator.Faults.Add(new FaultRule { Method = "DELETE", PathContains = "/users/", Status = 503, Times = 0 });
            var pending = await (await EraseAsync(service, failed.PetOwnerId)).ShouldBeOkJsonAsync(HttpStatusCode.Accepted);
            failedId = pending.GetProperty("id").GetInt64();
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }

        // One as an instance leaves it when it dies after recording the request, before any step: pending, no step done,
        // due once the request's own time to run it is over.
        var crashedId = await stack.App.InDatabaseAsync(async db =>
        {
            var erasure = new Erasure
            {
                UserId = crashed.PetOwnerId, OrganisationIds = crashed.Org, RequestedBy = "pms", RequestedByRoles = "service",
                RequestedAt = DateTimeOffset.UtcNow - ErasureWorker.RequestGrace, StreamUser = ErasureModes.Soft, StreamMessages = ErasureModes.Keep,
                Status = ErasureStatus.Pending, NextAttemptAt = DateTimeOffset.UtcNow.AddSeconds(-1), Steps = Erasures.NoStepsDone(), Kept = "[]",
            };
            db.Erasures.Add(erasure);
            await db.SaveChangesAsync();
            return erasure.Id;
        });

        // The failed one's retry time comes; nobody asks again.
        await stack.App.InDatabaseAsync(db => db.Erasures.Where(e => e.Id == failedId)
            .ExecuteUpdateAsync(set => set.SetProperty(e => e.NextAttemptAt, DateTimeOffset.UtcNow.AddSeconds(-1))));
        stack.App.Services.GetRequiredService<ErasureSignal>().Wake();

        foreach (var (id, userId) in new[] { (failedId, failed.PetOwnerId), (crashedId, crashed.PetOwnerId) })
        {
            await Eventually.TrueAsync(
                async () => await stack.App.InDatabaseAsync(db => db.Erasures.AnyAsync(e => e.Id == id && e.Status == ErasureStatus.Completed)),
                $"the worker to finish erasure {id}");
            var record = await (await service.GetAsync($"/api/privacy/erasures/{id}")).ShouldBeOkJsonAsync();
            Assert.Equal(Erasures.StepNames, record.GetProperty("steps").EnumerateArray().Where(x => x.GetProperty("doneAt").ValueKind == JsonValueKind.String)
                .Select(x => x.GetProperty("name").GetString()));
            Assert.NotNull(stack.Emulator.Store.FindUser(userId)!.DeletedAt);
            Assert.False(await stack.App.InDatabaseAsync(db => db.ChatUsers.AnyAsync(u => u.Id == userId)));
            Assert.False(await stack.App.InDatabaseAsync(db => db.Devices.AnyAsync(d => d.UserId == userId)));
        }
    }

    [Fact]
    public async Task AWebhookStreamDeliversAfterTheErasureLosesWhatItBroughtBackWhenTheLocalStepsRunOnceMore()
    {
        var stack = await fixture.StartAsync();
        var (s, _, vetPhone) = await ConversationAsync(stack);
        var service = stack.App.ClientFor("pms", "service");
        var erased = await (await EraseAsync(service, s.PetOwnerId)).ShouldBeOkJsonAsync();
        var id = erased.GetProperty("id").GetInt64();
        var due = await stack.App.InDatabaseAsync(db => db.Erasures.Where(e => e.Id == id).Select(e => new { e.CompletedAt, e.NextAttemptAt }).SingleAsync());
        Assert.Equal(due.CompletedAt + Erasures.LateEventsDelay, due.NextAttemptAt);

        // Stream's retry of a message.new it sent before the deletion arrives now, and is processed: a preview, a push.
        const string LateText = "One more thing: Rex ate a sock";
        var pushesBefore = fixture.Fcm.DeliveredTo(vetPhone).Count();
        var body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, LateText, Guid.NewGuid().ToString(), members: [s.PetOwnerId, s.VetId]);
        await (await stack.App.AnonymousClient().SendAsync(StreamWebhook.Request(body, Guid.NewGuid().ToString()))).ShouldBeOkJsonAsync();
        await Eventually.TrueAsync(
            async () => await stack.App.InDatabaseAsync(db => db.Chats.AnyAsync(c => c.AppointmentId == s.AppointmentId && c.LastMessageText == LateText)),
            "the late message in the chat list");
        await Eventually.TrueAsync(() => fixture.Fcm.DeliveredTo(vetPhone).Count() > pushesBefore, "the late message's push");

        // Its time comes (a minute after completion; brought forward here).
        await LateEventsSweptAsync(stack, id);
        Assert.Null(await stack.App.InDatabaseAsync(db => db.Chats.Where(c => c.AppointmentId == s.AppointmentId).Select(c => c.LastMessageText).SingleAsync()));
        Assert.False(await stack.App.InDatabaseAsync(db => db.InboxEvents.AnyAsync(e => e.Payload.Contains(LateText))));
        Assert.All(await stack.App.InDatabaseAsync(db => db.Notifications.Where(n => n.AppointmentId == s.AppointmentId).ToListAsync()),
            n => Assert.Equal((Erasures.ErasedPushTitle, ""), (n.Title, n.Body)));
        Assert.Contains(stack.App.Logs.Lines, l => l.Message.Contains($"Erasure {id} of user {s.PetOwnerId}:", StringComparison.Ordinal));

        // The record the request answered with stands: its steps and counts did not change.
        var record = await (await service.GetAsync($"/api/privacy/erasures/{id}")).ShouldBeOkJsonAsync();
        Assert.Equal(erased.GetProperty("steps").GetRawText(), record.GetProperty("steps").GetRawText());
    }

    public static TheoryData<string, string> Calls() => new()
    {
        { "GET", "/api/privacy/users/{user}/export" }, { "POST", "/api/privacy/users/{user}/erasure" }, { "GET", "/api/privacy/erasures/{erasure}" },
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task OnlyTheUsersOrganisationsAdminsAndTheServiceReachTheirData(string method, string template)
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New("clinic-a");
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddDays(1));
        var other = Scenario.New("clinic-a");
        await other.PushAsync(stack.App, DateTimeOffset.UtcNow.AddDays(1));
        var erasure = await (await EraseAsync(stack.App.ClientFor("pms", "service"), other.PetOwnerId)).ShouldBeOkJsonAsync();
        var path = template.Replace("{user}", s.PetOwnerId, StringComparison.Ordinal).Replace("{erasure}", erasure.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        HttpRequestMessage Request() => new(new HttpMethod(method), path) { Content = method == "POST" ? new StringContent("{}", System.Text.Encoding.UTF8, "application/json") : null };

        await (await stack.App.ClientFor(Ids.New("admin"), "admin", "clinic-b").SendAsync(Request())).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "other-organisation");
        await (await stack.App.ClientFor(s.VetId, "vet", "clinic-a").SendAsync(Request())).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "forbidden");
        await (await stack.App.ClientFor(s.PetOwnerId, "pet-owner", "clinic-a").SendAsync(Request())).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "forbidden");
        await (await stack.App.AnonymousClient().SendAsync(Request())).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        Assert.False(await stack.App.InDatabaseAsync(db => db.Erasures.AnyAsync(e => e.UserId == s.PetOwnerId)));

        var own = await stack.App.ClientFor(Ids.New("admin"), "admin", "clinic-a").SendAsync(Request());
        Assert.True(own.IsSuccessStatusCode, await own.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnAdminCannotEraseAUserOtherOrganisationsAlsoSeeAndUnknownErasuresAreNotFoundForTheServiceOnly()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New("clinic-a");
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddDays(1));
        var elsewhere = new Scenario(Ids.New("apt"), s.PetOwnerId, Ids.New("vet"), "clinic-b");
        await elsewhere.PushAsync(stack.App, DateTimeOffset.UtcNow.AddDays(2));
        var admin = stack.App.ClientFor(Ids.New("admin"), "admin", "clinic-a");

        await (await DocumentedAsync(await EraseAsync(admin, s.PetOwnerId))).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "erasure-spans-organisations");
        Assert.False(await stack.App.InDatabaseAsync(db => db.Erasures.AnyAsync(e => e.UserId == s.PetOwnerId)));

        // The admin's export covers their organisation's appointments only.
        var export = await (await admin.GetAsync($"/api/privacy/users/{s.PetOwnerId}/export")).ShouldBeOkJsonAsync();
        Assert.Equal([s.AppointmentId], export.GetProperty("appointments").EnumerateArray().Select(a => a.GetProperty("id").GetString()));

        await (await DocumentedAsync(await stack.App.ClientFor("pms", "service").GetAsync("/api/privacy/erasures/999999999")))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "erasure-not-found");
        await (await admin.GetAsync("/api/privacy/erasures/999999999")).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "other-organisation");
    }

    public static TheoryData<string, string, string> BadRequests() => new()
    {
        { "bad%20id", """{}""", "userId" },
        { new string('a', 65), """{}""", "userId" },
        { "owner-x", """{"user":"erase"}""", "user" },
        { "owner-x", """{"messages":"shred"}""", "messages" },
        { "owner-x", """{"user":"soft","messages":"hard"}""", "messages" },
        { "owner-x", """{"user":"hard","messages":"keep"}""", "messages" },
        { "owner-x", """{"user":1}""", "" },
        { "owner-x", """{"hard":true}""", "" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadInputIsA400ThatNamesTheFieldAndErasesNothing(string userId, string body, string field)
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddDays(1));
        var target = userId == "owner-x" ? s.PetOwnerId : userId;
        var response = await stack.App.ClientFor("pms", "service").PostAsync($"/api/privacy/users/{target}/erasure",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, field.Length == 0 ? null : field);
        Assert.False(await stack.App.InDatabaseAsync(db => db.Erasures.AnyAsync(e => e.UserId == target)));
        Assert.Equal("Alex Owner", await stack.App.InDatabaseAsync(db =>
            db.Set<AppointmentChat.Api.Appointments.Appointment>().Where(a => a.Id == s.AppointmentId).Select(a => a.PetOwnerName).SingleAsync()));
        if (field == "userId")
        {
            await (await stack.App.ClientFor("pms", "service").GetAsync($"/api/privacy/users/{target}/export")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "userId");
        }
    }
}

/// <summary>The service with the emulator as Stream and a fake FCM.</summary>
public abstract class PrivacyFixture(DatabaseKind kind) : StackFixture(kind)
{
    public FakeFcm Fcm { get; private set; } = null!;

    protected override async Task<ServiceWithEmulator> CreateAsync()
    {
        Fcm = Own(await FakeFcm.StartAsync());
        return Own(await ServiceWithEmulator.StartAsync(Kind, WebhookFixture.Settings(Fcm)));
    }
}

public sealed class SqlitePrivacyApp() : PrivacyFixture(DatabaseKind.Sqlite);

public sealed class PostgresPrivacyApp() : PrivacyFixture(DatabaseKind.Postgres);

public sealed class PrivacyTestsOnSqlite(SqlitePrivacyApp fixture) : PrivacyTests(fixture), IClassFixture<SqlitePrivacyApp>;

public sealed class PrivacyTestsOnPostgres(PostgresPrivacyApp fixture) : PrivacyTests(fixture), IClassFixture<PostgresPrivacyApp>;
