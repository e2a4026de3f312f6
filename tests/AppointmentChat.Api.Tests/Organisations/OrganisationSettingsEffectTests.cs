using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;
using Microsoft.EntityFrameworkCore;
using NodaTime;

namespace AppointmentChat.Api.Tests.Organisations;

/// <summary>
/// What an organisation's settings change, through the real pipeline: its chats' end message and system user in Stream,
/// the language of its pushes, the zone its wall-clock times are read in, and its chat window.
/// </summary>
public abstract class OrganisationSettingsEffectTests(DatabaseKind kind) : OrganisationTestService(kind)
{
    private static string Token(string name) => $"{name}-{Guid.NewGuid():N}";

    // Whole minutes, so that the minutes-only form can agree; two to three minutes ahead, the chat window is open.
    private static DateTimeOffset SoonStart
    {
        get
        {
            var soon = DateTimeOffset.UtcNow.AddMinutes(3);
            return new DateTimeOffset(soon.Year, soon.Month, soon.Day, soon.Hour, soon.Minute, 0, TimeSpan.Zero);
        }
    }

    private static string Local(DateTimeOffset instant, string zone) =>
        Instant.FromDateTimeOffset(instant).InZone(DateTimeZoneProviders.Tzdb[zone]).ToDateTimeUnspecified().ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    private static async Task PushAsync(ChatApp app, Scenario s, DateTimeOffset start, string? timeZone = null, int? activationMinutes = null)
    {
        var facts = s.Facts(start, activationMinutes: activationMinutes);
        facts["timeZone"] = timeZone;
        var response = await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", facts);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AGermanPracticesChatEndsInGermanFromItsOwnNamedSystemUserAndItsPushesAreGerman()
    {
        var stack = await StartAsync(new Dictionary<string, string?> { ["Push:IncludePreview"] = "false" });
        var org = Ids.New("praxis");
        await PutSettingsAsync(stack.App, org, new { language = "de", systemUserName = "Praxis Dr. Müller" });
        var s = Scenario.New(org);
        await PushAsync(stack.App, s, SoonStart);
        await s.CreateChatOkAsync(stack.App);
        var (vetPhone, ownerPhone) = (Token("vet-phone"), Token("owner-phone"));
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.VetId, vetPhone);
        await WebhookTestData.RegisterDeviceAsync(stack.App, s.PetOwnerId, ownerPhone);

        Scenario.UserSend(stack.Emulator, s, s.PetOwnerId, "Rex humpelt");
        await Eventually.TrueAsync(() => Delivered(vetPhone), "the vet's push");
        Assert.Equal("Neue Nachricht", Fcm.DeliveredTo(vetPhone).Single()["message"]!["notification"]!["body"]!.GetValue<string>());

        await (await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"))).ShouldBeOkJsonAsync();

        var systemUser = "system@" + org;
        var ended = Scenario.Messages(s.StreamChannel(stack.Emulator)!).Last()!;
        Assert.Equal("Dieser Chat wurde von der Tierarztpraxis beendet.", ended["text"]!.GetValue<string>());
        Assert.Equal(systemUser, ended["user"]!["id"]!.GetValue<string>());
        Assert.Equal("Praxis Dr. Müller", stack.Emulator.Store.FindUser(systemUser)?.Custom["name"]?.GetValue<string>());
        await Eventually.TrueAsync(() => Delivered(ownerPhone), "the pet owner's push of the end");
        Assert.Equal("Neue Nachricht", Fcm.DeliveredTo(ownerPhone).Single()["message"]!["notification"]!["body"]!.GetValue<string>());
        Assert.Equal(0, await stack.App.InDatabaseAsync(db => db.Notifications.CountAsync(n => n.RecipientUserId.StartsWith("system"))));

        // A person cannot take the practice's own system user's id.
        var impostor = Scenario.New(org) with { PetOwnerId = systemUser };
        var refused = await stack.App.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{impostor.AppointmentId}", impostor.Facts(SoonStart));
        await refused.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "petOwnerId");

        bool Delivered(string token) => Fcm.DeliveredTo(token).Any();
    }

    [Fact]
    public async Task AnOrganisationsOwnEndMessageIsSentVerbatimWhateverItsLanguage()
    {
        var stack = await StartAsync();
        var org = Ids.New("praxis");
        const string farewell = "Danke, dass Sie uns geschrieben haben!\nGute Besserung für Rex.";
        await PutSettingsAsync(stack.App, org, new { language = "de", endMessage = farewell });
        var s = Scenario.New(org);
        await PushAsync(stack.App, s, SoonStart);
        await s.CreateChatOkAsync(stack.App);

        await (await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"))).ShouldBeOkJsonAsync();

        var ended = Assert.Single(Scenario.Messages(s.StreamChannel(stack.Emulator)!))!;
        Assert.Equal(farewell, ended["text"]!.GetValue<string>());
        Assert.Equal("system", ended["user"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheOrganisationsZoneReadsTheAppsWallClockTimesOverTheConfiguredOneButNotOverTheAppointmentsOwn()
    {
        var org = Ids.New("praxis");
        var stack = await StartAsync(new Dictionary<string, string?> { [$"Chat:TimeZones:{org}"] = "Asia/Tokyo" });
        await PutSettingsAsync(stack.App, org, new { timeZone = "Europe/Berlin" });
        var start = SoonStart;
        var s = Scenario.New(org);
        await PushAsync(stack.App, s, start);
        var owner = stack.App.ClientFor(s.PetOwnerId, "pet-owner");

        var problem = await (await s.CreateChatAsync(owner, new { appointmentId = s.AppointmentId, appointmentTime = Local(start, "Asia/Tokyo") }))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "appointment-mismatch");
        Assert.Contains("Europe/Berlin (the organisation's time zone setting)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await (await s.CreateChatAsync(owner, new { appointmentId = s.AppointmentId, appointmentTime = Local(start, "Europe/Berlin") })).ShouldBeOkJsonAsync();

        var pushed = Scenario.New(org);
        await PushAsync(stack.App, pushed, start, timeZone: "America/New_York");
        var pushedOwner = stack.App.ClientFor(pushed.PetOwnerId, "pet-owner");
        await (await pushed.CreateChatAsync(pushedOwner, new { appointmentId = pushed.AppointmentId, appointmentTime = Local(start, "Europe/Berlin") }))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "appointment-mismatch");
        await (await pushed.CreateChatAsync(pushedOwner, new { appointmentId = pushed.AppointmentId, appointmentTime = Local(start, "America/New_York") })).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task TheOrganisationsActivationAndGraceShapeItsChatsWindow()
    {
        var stack = await StartAsync();
        var org = Ids.New("praxis");
        await PutSettingsAsync(stack.App, org, new { chatActivationMinutes = 60, closeGraceMinutes = 120 });
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeSeconds());
        var s = Scenario.New(org);
        await PushAsync(stack.App, s, start);

        var appointment = await (await stack.App.ClientFor("pms", "service").GetAsync($"/api/appointments/{s.AppointmentId}")).ShouldBeOkJsonAsync();
        Assert.Equal(60, appointment.GetProperty("chatActivationMinutes").GetInt32());
        var chat = await s.CreateChatOkAsync(stack.App); // open: it activates an hour ahead, not the service's five minutes
        Assert.Equal(start.AddMinutes(-60), chat.GetProperty("activatesAt").GetDateTimeOffset());
        Assert.Equal(start.AddMinutes(30 + 120), chat.GetProperty("closesAt").GetDateTimeOffset());
        Assert.Equal("active", chat.GetProperty("status").GetString());

        // The chat list says the same close, also beside a chat of a practice on the service's defaults (30 minutes).
        var elsewhere = s with { AppointmentId = Ids.New("apt"), Org = Ids.New("clinic") };
        await PushAsync(stack.App, elsewhere, start);
        await elsewhere.CreateChatOkAsync(stack.App);
        var list = await (await stack.App.ClientFor(s.PetOwnerId, "pet-owner").GetAsync("/api/chat/channels")).ShouldBeOkJsonAsync();
        var closes = list.GetProperty("channels").EnumerateArray()
            .ToDictionary(c => c.GetProperty("appointmentId").GetString()!, c => c.GetProperty("closesAt").GetDateTimeOffset());
        Assert.Equal(start.AddMinutes(30 + 120), closes[s.AppointmentId]);
        Assert.Equal(start.AddMinutes(30 + 30), closes[elsewhere.AppointmentId]);
        var vetList = await (await stack.App.ClientFor(s.VetId, "vet").GetAsync("/api/chat/channels?role=vet")).ShouldBeOkJsonAsync();
        Assert.Equal(start.AddMinutes(30 + 120), vetList.GetProperty("channels").EnumerateArray()
            .Single(c => c.GetProperty("appointmentId").GetString() == s.AppointmentId).GetProperty("closesAt").GetDateTimeOffset());

        // The appointment's own activation still wins.
        var own = Scenario.New(org);
        await PushAsync(stack.App, own, start, activationMinutes: 0);
        var ownAppointment = await (await stack.App.ClientFor("pms", "service").GetAsync($"/api/appointments/{own.AppointmentId}")).ShouldBeOkJsonAsync();
        Assert.Equal(0, ownAppointment.GetProperty("chatActivationMinutes").GetInt32());
    }
}

public sealed class OrganisationSettingsEffectTestsOnSqlite() : OrganisationSettingsEffectTests(DatabaseKind.Sqlite);

public sealed class OrganisationSettingsEffectTestsOnPostgres() : OrganisationSettingsEffectTests(DatabaseKind.Postgres);
