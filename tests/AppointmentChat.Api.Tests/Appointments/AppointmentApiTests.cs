using AppointmentChat.Api.Appointments;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Appointments;

/// <summary>The PMS pushes appointments; participants read them. Runs on SQLite and on PostgreSQL.</summary>
public abstract class AppointmentApiTests(ChatAppFixture fixture)
{
    protected ChatAppFixture Fixture { get; } = fixture;

    internal static JsonObject Appointment(string org = "clinic-1", string petOwnerId = "owner-1", string vetId = "vet-1", string startsAt = "2030-01-15T14:00:00+01:00") => new()
    {
        ["petOwnerId"] = petOwnerId,
        ["petOwnerName"] = "Alex Owner",
        ["petName"] = "Rex",
        ["vetId"] = vetId,
        ["vetName"] = "Dr. Vet",
        ["organisationId"] = org,
        ["startsAt"] = startsAt,
        ["durationMinutes"] = 30,
        ["status"] = "upcoming",
    };

    [Fact]
    public async Task TheServiceCreatesAnAppointmentWith201AndUpdatesItWith200()
    {
        var app = await Fixture.StartAsync();
        var id = Ids.New("apt");
        var pms = app.ClientFor("pms", "service");

        var created = await (await pms.PutAsJsonAsync($"/api/appointments/{id}", Appointment())).ShouldBeOkJsonAsync(HttpStatusCode.Created);
        Assert.Equal(id, created.GetProperty("id").GetString());
        Assert.Equal("2030-01-15T13:00:00.000Z", created.GetProperty("startsAt").GetString());
        Assert.Equal(5, created.GetProperty("chatActivationMinutes").GetInt32());
        Assert.Equal("upcoming", created.GetProperty("status").GetString());

        var update = Appointment();
        update["status"] = "checked-in";
        update["durationMinutes"] = 45;
        var updated = await (await pms.PutAsJsonAsync($"/api/appointments/{id}", update)).ShouldBeOkJsonAsync();
        Assert.Equal("checked-in", updated.GetProperty("status").GetString());
        Assert.Equal(45, updated.GetProperty("durationMinutes").GetInt32());

        var stored = await app.InDatabaseAsync(db => db.Appointments.AsNoTracking().SingleAsync(a => a.Id == id));
        Assert.Equal(AppointmentChat.Api.Appointments.AppointmentStatus.CheckedIn, stored.Status);
        Assert.Equal(new DateTimeOffset(2030, 1, 15, 13, 0, 0, TimeSpan.Zero), stored.StartsAt);
    }

    [Fact]
    public async Task PuttingTheSameFactsAgainChangesNothing()
    {
        var app = await Fixture.StartAsync();
        var id = Ids.New("apt");
        var pms = app.ClientFor("pms", "service");
        var first = await (await pms.PutAsJsonAsync($"/api/appointments/{id}", Appointment())).ShouldBeOkJsonAsync(HttpStatusCode.Created);

        var second = await (await pms.PutAsJsonAsync($"/api/appointments/{id}", Appointment())).ShouldBeOkJsonAsync();

        Assert.Equal(first.GetProperty("updatedAt").GetString(), second.GetProperty("updatedAt").GetString());
    }

    [Fact]
    public async Task AnAdminManagesOnlyTheirOwnOrganisationsAppointments()
    {
        var app = await Fixture.StartAsync();
        var id = Ids.New("apt");
        var admin = app.ClientFor("admin-1", "admin", "clinic-1");

        await (await admin.PutAsJsonAsync($"/api/appointments/{id}", Appointment("clinic-1"))).ShouldBeOkJsonAsync(HttpStatusCode.Created);
        await (await admin.PutAsJsonAsync($"/api/appointments/{Ids.New("apt")}", Appointment("clinic-2"))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);

        // An admin of another clinic can neither take it over nor change it.
        var otherAdmin = app.ClientFor("admin-2", "admin", "clinic-2");
        await (await otherAdmin.PutAsJsonAsync($"/api/appointments/{id}", Appointment("clinic-2"))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        var stored = await app.InDatabaseAsync(db => db.Appointments.AsNoTracking().SingleAsync(a => a.Id == id));
        Assert.Equal("clinic-1", stored.OrganisationId);

        // An admin without an organisation claim manages nothing.
        await (await app.ClientFor("admin-3", "admin").PutAsJsonAsync($"/api/appointments/{Ids.New("apt")}", Appointment())).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("vet")]
    [InlineData("pet-owner")]
    [InlineData(null)]
    public async Task VetsPetOwnersAndRolelessCallersCannotPushAppointments(string? role)
    {
        var app = await Fixture.StartAsync();
        var id = Ids.New("apt");

        var response = await app.ClientFor("vet-1", role, "clinic-1").PutAsJsonAsync($"/api/appointments/{id}", Appointment());

        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        Assert.False(await app.InDatabaseAsync(db => db.Appointments.AnyAsync(a => a.Id == id)));
    }

    [Fact]
    public async Task ParticipantsTheirAdminsAndTheServiceCanReadAnAppointmentOthersCannotTellItExists()
    {
        var app = await Fixture.StartAsync();
        var id = Ids.New("apt");
        await (await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{id}", Appointment("clinic-1", "owner-7", "vet-7"))).ShouldBeOkJsonAsync(HttpStatusCode.Created);

        foreach (var reader in new[] { app.ClientFor("owner-7", "pet-owner"), app.ClientFor("vet-7", "vet"), app.ClientFor("admin-1", "admin", "clinic-1"), app.ClientFor("pms", "service") })
        {
            var body = await (await reader.GetAsync($"/api/appointments/{id}")).ShouldBeOkJsonAsync();
            Assert.Equal("owner-7", body.GetProperty("petOwnerId").GetString());
        }

        var missing = await (await app.ClientFor("owner-8", "pet-owner").GetAsync($"/api/appointments/{Ids.New("apt")}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        foreach (var stranger in new[] { app.ClientFor("owner-8", "pet-owner"), app.ClientFor("vet-8", "vet", "clinic-1"), app.ClientFor("admin-2", "admin", "clinic-2") })
        {
            var problem = await (await stranger.GetAsync($"/api/appointments/{id}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal(missing.GetProperty("detail").GetString(), problem.GetProperty("detail").GetString());
        }
    }

    public static TheoryData<string, string, string> InvalidAppointments() => new()
    {
        { "appointment id too long for a channel id", new string('a', 53), Json(Appointment()) },
        { "appointment id with a dot", "apt.1", Json(Appointment()) },
        { "missing petOwnerId", "ok", Json(Without(Appointment(), "petOwnerId")) },
        { "missing vetId", "ok", Json(Without(Appointment(), "vetId")) },
        { "missing organisationId", "ok", Json(Without(Appointment(), "organisationId")) },
        { "missing startsAt", "ok", Json(Without(Appointment(), "startsAt")) },
        { "missing durationMinutes", "ok", Json(Without(Appointment(), "durationMinutes")) },
        { "startsAt without an offset", "ok", Json(Appointment(startsAt: "2030-01-15T14:00:00")) },
        { "startsAt not a date", "ok", Json(Appointment(startsAt: "tomorrow")) },
        { "petOwnerId Stream would refuse", "ok", Json(Appointment(petOwnerId: "owner 1")) },
        { "vetId with a control character", "ok", Json(Appointment(vetId: "vet\u00071")) },
        { "same person as owner and vet", "ok", Json(Appointment(petOwnerId: "same-1", vetId: "same-1")) },
        { "unknown status", "ok", Json(With(Appointment(), "status", "finished")) },
        { "status as a number", "ok", Json(With(Appointment(), "status", 2)) },
        { "duration zero", "ok", Json(With(Appointment(), "durationMinutes", 0)) },
        { "duration beyond a day", "ok", Json(With(Appointment(), "durationMinutes", 100000)) },
        { "duration beyond Int32", "ok", Json(With(Appointment(), "durationMinutes", 99999999999)) },
        { "negative activation minutes", "ok", Json(With(Appointment(), "chatActivationMinutes", -1)) },
        { "pet name with a newline", "ok", Json(With(Appointment(), "petName", "Rex\nDROP")) },
        { "over-long owner name", "ok", Json(With(Appointment(), "petOwnerName", new string('x', 201))) },
        { "unknown field", "ok", Json(With(Appointment(), "vip", true)) },
        { "truncated JSON", "ok", Json(Appointment())[..20] },
        { "null body", "ok", "null" },
        { "array body", "ok", "[]" },
    };

    [Theory]
    [MemberData(nameof(InvalidAppointments))]
    public async Task InvalidAppointmentsGet400ProblemDetailsAndNothingIsStored(string why, string idSuffix, string body)
    {
        var app = await Fixture.StartAsync();
        var id = idSuffix == "ok" ? Ids.New("apt") : idSuffix;

        var response = await app.ClientFor("pms", "service").PutRawAsync($"/api/appointments/{id}", body);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        Assert.False(await app.InDatabaseAsync(db => db.Appointments.AnyAsync(a => a.Id == id)), why);
    }

    [Fact]
    public async Task ConcurrentFirstPushesOfOneAppointmentLeaveOneRowAndNoErrors()
    {
        var app = await Fixture.StartAsync();
        var id = Ids.New("apt");
        var pms = app.ClientFor("pms", "service");

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => pms.PutAsJsonAsync($"/api/appointments/{id}", Appointment())));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(1, await app.InDatabaseAsync(db => db.Appointments.CountAsync(a => a.Id == id)));
        // The losers' inserts met the winner's row without an exception, so without an error in the log.
        Assert.DoesNotContain(app.Logs.Lines, l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error
            && (l.Message.Contains("\"appointments\"", StringComparison.Ordinal) || (l.Exception?.Contains("appointments", StringComparison.Ordinal) ?? false)));
    }

    private static string Json(JsonObject value) => value.ToJsonString();

    private static JsonObject Without(JsonObject value, string field)
    {
        value.Remove(field);
        return value;
    }

    private static JsonObject With(JsonObject value, string field, JsonNode? node)
    {
        value[field] = node;
        return value;
    }
}

public sealed class AppointmentApiTestsOnSqlite(SqliteApp fixture) : AppointmentApiTests(fixture), IClassFixture<SqliteApp>;

public sealed class AppointmentApiTestsOnPostgres(PostgresApp fixture) : AppointmentApiTests(fixture), IClassFixture<PostgresApp>;
