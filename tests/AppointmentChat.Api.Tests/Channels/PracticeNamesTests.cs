using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using AppointmentChat.StreamEmulator;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Channels;

/// <summary>
/// A pet owner can rename themselves in Stream with their own token; the name the practice set stays the one the
/// clinic's chat list and the vet's pushes show, and the service puts it back in Stream — on SQLite and PostgreSQL.
/// </summary>
public abstract class PracticeNamesTests(DatabaseKind kind) : IAsyncLifetime
{
    private const string Phishing = "Veterinary practice — URGENT: call +1 555 0100";
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

    [Fact]
    public async Task APetOwnersOwnRenameInStreamNeitherReachesTheClinicNorStaysInStream()
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        var settings = WebhookFixture.Settings(_fcm);
        settings["Chat:SchedulerPollInterval"] = "00:00:01";
        var stack = _stack = await ServiceWithEmulator.StartAsync(kind, settings);
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await s.CreateChatOkAsync(stack.App);
        var vetPhone = $"vet-phone-{Guid.NewGuid():N}";
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone, "ios");
        string? StreamName() => stack.Emulator.Store.FindUser(s.PetOwnerId)?.Custom["name"]?.GetValue<string>();
        Assert.Equal("Alex Owner", StreamName());

        // The pet owner, with the Stream token the app holds, renames themselves.
        var (status, body, _) = await stack.Emulator.CallAsync(HttpMethod.Patch, "users",
            new JsonObject { ["users"] = new JsonArray(new JsonObject { ["id"] = s.PetOwnerId, ["set"] = new JsonObject { ["name"] = Phishing } }) },
            EmulatorHost.UserToken(s.PetOwnerId));
        Assert.True(status == 200, body.ToJsonString());

        await Eventually.TrueAsync(() => StreamName() == "Alex Owner", "the practice's name back in Stream", TimeSpan.FromSeconds(20));
        Assert.Contains(stack.Emulator.Webhooks, d => d.EventType == "user.updated" && d.Outcome == "delivered");
        var list = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        Assert.DoesNotContain(Phishing, list.GetRawText(), StringComparison.Ordinal);
        Assert.Contains("Alex Owner", list.GetRawText(), StringComparison.Ordinal);

        stack.Emulator.Store.SendMessage(new StreamCaller(false, s.PetOwnerId, null), "messaging", s.ChannelId, new JsonObject { ["text"] = "Please call me" });
        await Eventually.TrueAsync(() => _fcm.DeliveredTo(vetPhone).Any(), "the vet's push");
        Assert.Equal("Alex Owner", _fcm.DeliveredTo(vetPhone).Single()["message"]!["notification"]!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnOlderAppointmentOpeningItsChatLeavesThePersonNamedAsTheNewestAppointmentNamesThem()
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        var settings = WebhookFixture.Settings(_fcm);
        settings["Chat:SchedulerPollInterval"] = "00:00:01";
        var stack = _stack = await ServiceWithEmulator.StartAsync(kind, settings);
        var pms = stack.App.ClientFor("pms", "service");
        async Task PushAsync(Scenario s, DateTimeOffset startsAt, string vetName)
        {
            var facts = s.Facts(startsAt, activationMinutes: 0);
            facts["vetName"] = vetName;
            var response = await pms.PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", facts);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        // The vet's older appointment opens its chat in a few seconds; meanwhile the practice renames the vet in a newer one.
        var older = Scenario.New();
        var newer = Scenario.New() with { VetId = older.VetId };
        await PushAsync(older, DateTimeOffset.UtcNow.AddSeconds(6), "Dr. Maiden Name");
        await older.CreateChatOkAsync(stack.App);
        Assert.Equal("pending", Scenario.Custom(older.StreamChannel(stack.Emulator)!, "status"));
        await PushAsync(newer, DateTimeOffset.UtcNow.AddMinutes(-5), "Dr. Married Name");
        await newer.CreateChatOkAsync(stack.App);
        string? StreamName() => stack.Emulator.Store.FindUser(older.VetId)?.Custom["name"]?.GetValue<string>();
        Assert.Equal("Dr. Married Name", StreamName());

        await Eventually.TrueAsync(() => Scenario.Custom(older.StreamChannel(stack.Emulator)!, "status") == "active", "the older appointment's chat opened", TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(
            () => stack.Emulator.Webhooks.Count(d => d.EventType == "user.updated") == stack.Emulator.Webhooks.Count(d => d.EventType == "user.updated" && d.Outcome == "delivered"),
            "Stream's reports of the renames delivered");

        Assert.Equal("Dr. Married Name", StreamName());
        // What push titles name the vet by.
        Assert.Equal("Dr. Married Name", await stack.App.InDatabaseAsync(db => db.ChatUsers.Where(u => u.Id == older.VetId).Select(u => u.Name).SingleAsync()));
    }
}

public sealed class PracticeNamesTestsOnSqlite() : PracticeNamesTests(DatabaseKind.Sqlite);

public sealed class PracticeNamesTestsOnPostgres() : PracticeNamesTests(DatabaseKind.Postgres);
