using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AppointmentChat.Api.Organisations;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Organisations;

/// <summary>
/// <c>GET</c>/<c>PUT /api/organisations/{organisationId}/settings</c>: the organisation's admin or the PMS sets them, unset
/// ones are the service-wide settings, every field is checked, and nothing is stored unless all are good.
/// </summary>
public abstract class OrganisationSettingsApiTests(DatabaseKind kind) : OrganisationTestService(kind)
{
    private static readonly string[] EveryField = ["timeZone", "chatActivationMinutes", "closeGraceMinutes", "systemUserName", "endMessage", "language"];

    private static void ShowsServiceDefaults(JsonElement settings, string organisationId)
    {
        Assert.Equal(organisationId, settings.GetProperty("organisationId").GetString());
        Assert.False(settings.TryGetProperty("timeZone", out var zone) && zone.ValueKind != JsonValueKind.Null, "no zone is known");
        Assert.Equal(5, settings.GetProperty("chatActivationMinutes").GetInt32());
        Assert.Equal(30, settings.GetProperty("closeGraceMinutes").GetInt32());
        Assert.Equal("system", settings.GetProperty("systemUserId").GetString());
        Assert.Equal("Veterinary practice", settings.GetProperty("systemUserName").GetString());
        Assert.Equal("This chat has been ended by the veterinary practice.", settings.GetProperty("endMessage").GetString());
        Assert.Equal("en", settings.GetProperty("language").GetString());
        Assert.Empty(settings.GetProperty("own").EnumerateArray());
    }

    [Fact]
    public async Task AnAdminSetsTheirOrganisationsSettingsReadsThemBackAndClearingThemFallsBackToTheServiceWideOnes()
    {
        var stack = await StartAsync();
        var org = Ids.New("clinic");
        var admin = AdminOf(stack.App, org);
        ShowsServiceDefaults(await (await admin.GetAsync(Settings(org))).ShouldBeOkJsonAsync(), org);

        var body = new { timeZone = "Europe/Berlin", chatActivationMinutes = 15, closeGraceMinutes = 0, systemUserName = "Praxis Dr. Müller", endMessage = "Danke!\nBis bald.", language = "de" };
        var put = await (await admin.PutAsJsonAsync(Settings(org), body)).ShouldBeOkJsonAsync();
        var got = await (await admin.GetAsync(Settings(org))).ShouldBeOkJsonAsync();

        foreach (var answer in new[] { put, got })
        {
            Assert.Equal("Europe/Berlin", answer.GetProperty("timeZone").GetString());
            Assert.Equal(15, answer.GetProperty("chatActivationMinutes").GetInt32());
            Assert.Equal(0, answer.GetProperty("closeGraceMinutes").GetInt32());
            Assert.Equal("Praxis Dr. Müller", answer.GetProperty("systemUserName").GetString());
            Assert.Equal("system@" + org, answer.GetProperty("systemUserId").GetString());
            Assert.Equal("Danke!\nBis bald.", answer.GetProperty("endMessage").GetString());
            Assert.Equal("de", answer.GetProperty("language").GetString());
            Assert.Equal(EveryField, answer.GetProperty("own").EnumerateArray().Select(f => f.GetString()));
        }

        // Only the language its own: the built-in texts in it, every other setting the service's.
        var german = await PutSettingsAsync(stack.App, org, new { language = "de" });
        Assert.Equal(["language"], german.GetProperty("own").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("Dieser Chat wurde von der Tierarztpraxis beendet.", german.GetProperty("endMessage").GetString());
        Assert.Equal("Tierarztpraxis", german.GetProperty("systemUserName").GetString());
        Assert.Equal("system", german.GetProperty("systemUserId").GetString());
        Assert.Equal(30, german.GetProperty("closeGraceMinutes").GetInt32());

        ShowsServiceDefaults(await PutSettingsAsync(stack.App, org, new { }), org);
        ShowsServiceDefaults(await (await admin.GetAsync(Settings(org))).ShouldBeOkJsonAsync(), org);
    }

    [Fact]
    public async Task AZoneConfiguredForTheOrganisationIsItsDefaultAndItsOwnSettingWins()
    {
        var org = Ids.New("clinic");
        var stack = await StartAsync(new Dictionary<string, string?> { [$"Chat:TimeZones:{org}"] = "Asia/Tokyo" });

        var configured = await (await stack.App.ClientFor("pms", "service").GetAsync(Settings(org))).ShouldBeOkJsonAsync();
        Assert.Equal("Asia/Tokyo", configured.GetProperty("timeZone").GetString());
        Assert.Empty(configured.GetProperty("own").EnumerateArray());

        var own = await PutSettingsAsync(stack.App, org, new { timeZone = "Europe/Berlin" });
        Assert.Equal("Europe/Berlin", own.GetProperty("timeZone").GetString());
        Assert.Equal(["timeZone"], own.GetProperty("own").EnumerateArray().Select(f => f.GetString()));
    }

    private static readonly (string Field, string Json)[] BadFields =
    [
        ("timeZone", """{ "timeZone": "Mars/Olympus" }"""),
        ("timeZone", """{ "timeZone": "europe/berlin" }"""),
        ("chatActivationMinutes", """{ "chatActivationMinutes": -1 }"""),
        ("chatActivationMinutes", """{ "chatActivationMinutes": 1441 }"""),
        ("closeGraceMinutes", """{ "closeGraceMinutes": -5 }"""),
        ("closeGraceMinutes", """{ "closeGraceMinutes": 10081 }"""),
        ("systemUserName", $$"""{ "systemUserName": "{{new string('a', OrganisationSettings.MaxSystemUserNameLength + 1)}}" }"""),
        ("systemUserName", """{ "systemUserName": "   " }"""),
        ("systemUserName", """{ "systemUserName": "Praxis\nDr. Müller" }"""),
        ("endMessage", $$"""{ "endMessage": "{{new string('a', OrganisationSettings.MaxEndMessageLength + 1)}}" }"""),
        ("endMessage", """{ "endMessage": "" }"""),
        ("endMessage", """{ "endMessage": "bye\u0007" }"""),
        ("language", """{ "language": "fr" }"""),
        ("language", """{ "language": "DE" }"""),
    ];

    [Fact]
    public async Task EveryBadFieldIsRefusedByNameAndNothingIsWrittenEvenBesideGoodOnes()
    {
        var stack = await StartAsync();
        var org = Ids.New("clinic");
        var admin = AdminOf(stack.App, org);
        await PutSettingsAsync(stack.App, org, new { language = "de", closeGraceMinutes = 45 });

        foreach (var (field, json) in BadFields)
        {
            // Beside a good change of every other field: none of it may land.
            var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;
            var mixed = new Dictionary<string, object?> { ["timeZone"] = "Europe/Vienna", ["chatActivationMinutes"] = 20, ["closeGraceMinutes"] = 90, ["systemUserName"] = "Praxis", ["endMessage"] = "Tschüss", ["language"] = "en" };
            mixed[field] = body[field];
            using var content = JsonContent.Create(mixed);
            var problem = await (await admin.PutAsync(Settings(org), content)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, field, code: "invalid-request");
            Assert.Contains(field, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var unchanged = await (await admin.GetAsync(Settings(org))).ShouldBeOkJsonAsync();
        Assert.Equal(["closeGraceMinutes", "language"], unchanged.GetProperty("own").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(45, unchanged.GetProperty("closeGraceMinutes").GetInt32());
        Assert.Equal("de", unchanged.GetProperty("language").GetString());

        await (await stack.App.ClientFor("pms", "service").GetAsync(Settings("not%20an%20id"))).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "organisationId", code: "invalid-request");
        await (await stack.App.ClientFor("pms", "service").PutAsJsonAsync(Settings(new string('o', 65)), new { })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "organisationId", code: "invalid-request");
    }

    [Fact]
    public async Task AnotherOrganisationsAdminAndOtherRolesAreForbiddenAndAnAnonymousCallerUnauthorized()
    {
        var stack = await StartAsync();
        var (org, other) = (Ids.New("clinic"), Ids.New("clinic"));
        await PutSettingsAsync(stack.App, org, new { language = "de" });
        var stranger = AdminOf(stack.App, other);

        await (await stranger.GetAsync(Settings(org))).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "other-organisation");
        await (await stranger.PutAsJsonAsync(Settings(org), new { language = "en" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "other-organisation");
        await (await stack.App.ClientFor("vet-1", "vet", org).PutAsJsonAsync(Settings(org), new { language = "en" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "forbidden");
        await (await stack.App.ClientFor("owner-1", "pet-owner", org).GetAsync(Settings(org))).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "forbidden");
        await (await stack.App.AnonymousClient().GetAsync(Settings(org))).ShouldBeProblemAsync(HttpStatusCode.Unauthorized, code: "unauthorized");
        await (await stack.App.AnonymousClient().PutAsJsonAsync(Settings(org), new { language = "en" })).ShouldBeProblemAsync(HttpStatusCode.Unauthorized, code: "unauthorized");

        var still = await (await AdminOf(stack.App, org).GetAsync(Settings(org))).ShouldBeOkJsonAsync();
        Assert.Equal("de", still.GetProperty("language").GetString());
    }

    [Fact]
    public void CountedTextsTakeTheLanguagesPluralForm()
    {
        Assert.Equal("Sent a photo", PracticeTexts.For("en").Count("PushSentPhotos", 1));
        Assert.Equal("Sent 3 photos", PracticeTexts.For("en").Count("PushSentPhotos", 3));
        Assert.Equal("Sent 0 photos", PracticeTexts.For("en").Count("PushSentPhotos", 0));
        Assert.Equal("Hat ein Foto gesendet", PracticeTexts.For("de").Count("PushSentPhotos", 1));
        Assert.Equal("Hat 3 Fotos gesendet", PracticeTexts.For("de").Count("PushSentPhotos", 3));
        Assert.Equal("Neue Nachricht", PracticeTexts.For("de").Get("PushBodyNoPreview"));
    }
}

public sealed class OrganisationSettingsApiTestsOnSqlite() : OrganisationSettingsApiTests(DatabaseKind.Sqlite);

public sealed class OrganisationSettingsApiTestsOnPostgres() : OrganisationSettingsApiTests(DatabaseKind.Postgres);
