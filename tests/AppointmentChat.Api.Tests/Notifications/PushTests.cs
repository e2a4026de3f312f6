using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using System.Net;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Notifications;

/// <summary>
/// Real webhooks from the emulator turned into the chat list's last message and into pushes through a
/// fake FCM; on SQLite and PostgreSQL.
/// </summary>
public abstract class PushTests(DatabaseKind kind) : IAsyncLifetime
{
    private FakeFcm _fcm = null!;
    private ServiceWithEmulator? _stack;

    public async ValueTask InitializeAsync() => _fcm = await FakeFcm.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        await _fcm.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task<ServiceWithEmulator> StackAsync(IDictionary<string, string?>? extra = null)
    {
        // Before the emulator starts: skipping after it would leave it running.
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        var settings = WebhookFixture.Settings(_fcm);
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return _stack = await ServiceWithEmulator.StartAsync(kind, settings);
    }

    private static async Task<Scenario> OpenChatAsync(ServiceWithEmulator stack)
    {
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await s.CreateChatOkAsync(stack.App);
        return s;
    }

    private static string Token(string name) => $"{name}-{Guid.NewGuid():N}";

    [Fact]
    public async Task AMessageFromTheOwnerUpdatesTheChatListAndPushesEachOfTheVetsDevicesOnce()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var (vetPhone, vetBrowser, ownerPhone) = (Token("vet-phone"), Token("vet-browser"), Token("owner-phone"));
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone, "ios");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetBrowser, "web");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.PetOwnerId, ownerPhone);

        Assert.Equal(SendOutcome.Sent, Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "Rex is limping on his left paw"));

        await Eventually.TrueAsync(() => _fcm.DeliveredTo(vetPhone).Any() && _fcm.DeliveredTo(vetBrowser).Any(), "a push to each of the vet's devices");
        var list = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        var chat = list.GetProperty("channels")[0];
        Assert.Equal("Rex is limping on his left paw", chat.GetProperty("lastMessage").GetString());
        Assert.True(chat.GetProperty("lastMessageAt").GetInt64() > 0);

        var push = _fcm.DeliveredTo(vetPhone).Single()["message"]!;
        Assert.Equal("Alex Owner", push["notification"]!["title"]!.GetValue<string>());
        Assert.Equal("Rex is limping on his left paw", push["notification"]!["body"]!.GetValue<string>());
        Assert.Equal(s.AppointmentId, push["data"]!["appointmentId"]!.GetValue<string>());
        Assert.Equal(s.ChannelId, push["data"]!["channelId"]!.GetValue<string>());
        Assert.True(_fcm.TokensIssued >= 1, "the access token came from the service account's token_uri");

        await Task.Delay(500);
        Assert.Single(_fcm.DeliveredTo(vetPhone));
        Assert.Single(_fcm.DeliveredTo(vetBrowser));
        Assert.Empty(_fcm.DeliveredTo(ownerPhone));
    }

    [Fact]
    public async Task AMessageWithOnlyAPhotoIsPushedAsSentAPhotoAndListedAsAMediaMessage()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var vetPhone = Token("vet-phone");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone);

        stack.Emulator.Store.SendMessage(new AppointmentChat.StreamEmulator.StreamCaller(false, s.PetOwnerId, null), "messaging", s.ChannelId,
            new JsonObject { ["attachments"] = new JsonArray(new JsonObject { ["type"] = "image", ["image_url"] = "https://example.com/paw.jpg" }) });

        await Eventually.TrueAsync(() => _fcm.DeliveredTo(vetPhone).Any(), "the push");
        Assert.Equal("Sent a photo", _fcm.DeliveredTo(vetPhone).Single()["message"]!["notification"]!["body"]!.GetValue<string>());
        var list = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        Assert.Equal("[Media message]", list.GetProperty("channels")[0].GetProperty("lastMessage").GetString());
    }

    [Fact]
    public async Task UploadedPhotosAndFilesArePushedAsWhatWasSentWithTheText()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var vetPhone = Token("vet-phone");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone);
        var owner = EmulatorHost.UserToken(s.PetOwnerId);

        async Task<string> SendAsync(string text, params (string Kind, string Name, string Type)[] files)
        {
            var attachments = new JsonArray();
            foreach (var (kind, name, type) in files)
            {
                var (status, uploaded) = await AppointmentChat.Api.Tests.Stream.EmulatorUploadTests.UploadAsync(stack.Emulator, s.ChannelId, kind, owner, name, type, [1, 2, 3]);
                Assert.Equal(201, status);
                attachments.Add(new JsonObject { ["type"] = kind == "image" ? "image" : "file", [kind == "image" ? "image_url" : "asset_url"] = uploaded["file"]!.GetValue<string>(), ["title"] = name });
            }

            var message = new JsonObject { ["text"] = text, ["attachments"] = attachments };
            var (sent, body, _) = await stack.Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{s.ChannelId}/message", new JsonObject { ["message"] = message }, owner);
            Assert.True(sent == 201, body.ToJsonString());
            var id = body["message"]!["id"]!.GetValue<string>();
            await Eventually.TrueAsync(() => _fcm.DeliveredTo(vetPhone).Any(p => p["message"]!["data"]!["messageId"]!.GetValue<string>() == id), "the push");
            return _fcm.DeliveredTo(vetPhone).Single(p => p["message"]!["data"]!["messageId"]!.GetValue<string>() == id)["message"]!["notification"]!["body"]!.GetValue<string>();
        }

        Assert.Equal("Sent 2 photos: Both paws, this morning", await SendAsync("Both paws, this morning", ("image", "left.jpg", "image/jpeg"), ("image", "right.jpg", "image/jpeg")));
        Assert.Equal("Sent a file", await SendAsync("", ("file", "vaccination.pdf", "application/pdf")));
        Assert.Equal("Sent 2 attachments", await SendAsync("", ("image", "paw.png", "image/png"), ("file", "notes.pdf", "application/pdf")));
    }

    [Fact]
    public async Task TheEndMessageNotifiesBothParticipantsAndNeverTheSystemUser()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var (vetPhone, ownerPhone) = (Token("vet-phone"), Token("owner-phone"));
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone);
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.PetOwnerId, ownerPhone);
        await WebhookTestData.RegisterDeviceAsync(stack.App, "system", Token("system-device"));

        await (await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"))).ShouldBeOkJsonAsync();

        await Eventually.TrueAsync(() => _fcm.DeliveredTo(vetPhone).Any() && _fcm.DeliveredTo(ownerPhone).Any(), "pushes to both participants");
        Assert.Equal(0, await stack.App.InDatabaseAsync(db => db.Notifications.CountAsync(n => n.RecipientUserId == "system")));
        var list = await (await stack.App.ClientFor(s.PetOwnerId, "pet-owner").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        Assert.Equal("This chat has been ended by the veterinary practice.", list.GetProperty("channels")[0].GetProperty("lastMessage").GetString());
    }

    [Fact]
    public async Task AnUnregisteredDeviceIsRemovedAndTheOthersStillGetThePush()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var (unregistered, gone, fine) = (Token("unregistered"), Token("gone"), Token("fine"));
        foreach (var token in new[] { unregistered, gone, fine })
        {
            await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, token);
        }

        Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "hello");

        await Eventually.TrueAsync(() => _fcm.DeliveredTo(fine).Any(), "the push to the good device");
        await Eventually.TrueAsync(async () => !await stack.App.InDatabaseAsync(db => db.Devices.AnyAsync(d => d.Token == unregistered || d.Token == gone)), "the dead devices to be removed");
        Assert.True(await stack.App.InDatabaseAsync(db => db.Devices.AnyAsync(d => d.Token == fine)));
        var deliveries = await stack.App.InDatabaseAsync(db => db.PushDeliveries.AsNoTracking().Where(d => d.Token == unregistered || d.Token == gone).ToListAsync());
        Assert.All(deliveries, d => Assert.Equal(DeliveryStatus.Unregistered, d.Status));
    }

    [Fact]
    public async Task AnFcm503IsRetriedAndTheDeviceGetsThePushOnce()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var flaky = Token("flaky");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, flaky);

        Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "are you there?");

        await Eventually.TrueAsync(() => _fcm.DeliveredTo(flaky).Any(), "the push after a retry");
        Assert.Equal(2, _fcm.Attempts[flaky]);
        await Eventually.TrueAsync(async () => await stack.App.InDatabaseAsync(db => db.Notifications.AnyAsync(n => n.RecipientUserId == s.VetId && n.Status == NotificationStatus.Sent)), "the notification to be recorded as sent");
        var notification = await stack.App.InDatabaseAsync(db => db.Notifications.AsNoTracking().SingleAsync(n => n.RecipientUserId == s.VetId));
        Assert.Equal(2, notification.Attempts);
        await Task.Delay(500);
        Assert.Single(_fcm.DeliveredTo(flaky));
    }

    [Fact]
    public async Task TheChannelsStateInStreamIsMirroredAndADeletedChannelShowsAsEnded()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);

        await stack.Emulator.CallAsync(HttpMethod.Patch, $"channels/messaging/{s.ChannelId}", new JsonObject { ["set"] = new JsonObject { ["frozen"] = true } });
        await Eventually.TrueAsync(async () => await stack.App.InDatabaseAsync(db => db.Chats.AnyAsync(a => a.AppointmentId == s.AppointmentId && a.Frozen)), "the mirror to be frozen");

        await stack.Emulator.CallAsync(HttpMethod.Delete, $"channels/messaging/{s.ChannelId}");
        await Eventually.TrueAsync(async () =>
        {
            var list = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
            return list.GetProperty("channels")[0].GetProperty("status").GetString() == "ended";
        }, "the deleted channel to show as ended");
    }

    [Fact]
    public async Task ARenameInStreamByAnyoneButThePracticeLeavesThePracticesNameInChatListsAndPushTitles()
    {
        var stack = await StackAsync(new Dictionary<string, string?> { ["Chat:SchedulerPollInterval"] = "00:00:01" });
        var s = await OpenChatAsync(stack);
        var vetPhone = Token("vet-phone");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone);

        // Renamed in Stream behind the practice's back (a dashboard, a script): Stream reports it, and it is put back.
        await stack.Emulator.CallAsync(HttpMethod.Patch, "users", new JsonObject
        {
            ["users"] = new JsonArray(new JsonObject { ["id"] = s.PetOwnerId, ["set"] = new JsonObject { ["name"] = "Alexandra" } }),
        });
        await Eventually.TrueAsync(() => stack.Emulator.Webhooks.Count(d => d.EventType == "user.updated" && d.Outcome == "delivered") >= 2, "the rename and its undoing reported");
        Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "it's me");

        await Eventually.TrueAsync(() => _fcm.DeliveredTo(vetPhone).Any(), "the push");
        Assert.Equal("Alex Owner", _fcm.DeliveredTo(vetPhone).Single()["message"]!["notification"]!["title"]!.GetValue<string>());
        var list = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        Assert.Equal("Chat with Alex Owner", list.GetProperty("channels")[0].GetProperty("name").GetString());
        Assert.Equal("Alex Owner", stack.Emulator.Store.FindUser(s.PetOwnerId)!.Custom["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task ThePreviewCanBeShortenedOrTurnedOff()
    {
        var stack = await StackAsync(new Dictionary<string, string?> { ["Push:PreviewLength"] = "12" });
        var s = await OpenChatAsync(stack);
        var vetPhone = Token("vet-phone");
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone);

        Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "A rather long message about Rex");

        await Eventually.TrueAsync(() => _fcm.DeliveredTo(vetPhone).Any(), "the push");
        Assert.Equal("A rather lo…", _fcm.DeliveredTo(vetPhone).Single()["message"]!["notification"]!["body"]!.GetValue<string>());
    }
}

public sealed class PushTestsOnSqlite() : PushTests(DatabaseKind.Sqlite);

public sealed class PushTestsOnPostgres() : PushTests(DatabaseKind.Postgres);
