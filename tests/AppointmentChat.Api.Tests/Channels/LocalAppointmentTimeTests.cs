using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using NodaTime;

namespace AppointmentChat.Api.Tests.Channels;

/// <summary>
/// The apps send <c>appointmentTime</c> as a local wall-clock time (no offset): it is read in the zone pushed with the
/// appointment, else the one configured for its organisation, else UTC, and must still agree with the record.
/// </summary>
public abstract class LocalAppointmentTimeTests(StackFixture fixture)
{
    /// <summary>Organisations with a configured zone (see <see cref="StackWithZones"/>); any other has none.</summary>
    public const string TokyoClinic = "clinic-tokyo";
    public const string LondonClinic = "clinic-london";

    // Whole minutes, so that the minutes-only form can agree; two to three minutes ahead, the chat window is open.
    private static DateTimeOffset SoonStart
    {
        get
        {
            var soon = DateTimeOffset.UtcNow.AddMinutes(3);
            return new DateTimeOffset(soon.Year, soon.Month, soon.Day, soon.Hour, soon.Minute, 0, TimeSpan.Zero);
        }
    }

    /// <summary>The wall-clock time of <paramref name="instant"/> in <paramref name="zone"/>, as the apps write it.</summary>
    private static string Local(DateTimeOffset instant, string zone, string format = "yyyy-MM-dd'T'HH:mm:ss") =>
        Instant.FromDateTimeOffset(instant).InZone(DateTimeZoneProviders.Tzdb[zone]).ToDateTimeUnspecified().ToString(format, CultureInfo.InvariantCulture);

    private static async Task PushAsync(ChatApp app, Scenario s, DateTimeOffset start, string? timeZone)
    {
        var facts = s.Facts(start);
        facts["timeZone"] = timeZone;
        var response = await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", facts);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static Task<HttpResponseMessage> CreateAsync(ChatApp app, Scenario s, string appointmentTime) =>
        s.CreateChatAsync(app.ClientFor(s.PetOwnerId, "pet-owner"), new { appointmentId = s.AppointmentId, appointmentTime });

    private static async Task NothingWasCreatedAsync(ServiceWithEmulator stack, Scenario s)
    {
        Assert.Null(s.StreamChannel(stack.Emulator));
        Assert.Null(await stack.App.InDatabaseAsync(db => db.Chats.Where(c => c.AppointmentId == s.AppointmentId).Select(c => c.ChannelId).SingleAsync()));
    }

    [Fact]
    public async Task ALocalTimeInTheZonePushedWithTheAppointmentOpensTheChatInEveryFormTheStrictFormsAllow()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New("clinic-pushed");
        var start = SoonStart;
        await PushAsync(stack.App, s, start, "America/New_York");

        await (await CreateAsync(stack.App, s, Local(start, "America/New_York"))).ShouldBeOkJsonAsync();
        await (await CreateAsync(stack.App, s, Local(start, "America/New_York", "yyyy-MM-dd'T'HH:mm"))).ShouldBeOkJsonAsync();
        await (await CreateAsync(stack.App, s, Local(start, "America/New_York", "yyyy-MM-dd'T'HH:mm:ss.fff"))).ShouldBeOkJsonAsync();
        // With an offset, as before.
        await (await CreateAsync(stack.App, s, start.ToString("O"))).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task APushedZoneWinsOverTheOrganisationsConfiguredOne()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New(TokyoClinic);
        var start = SoonStart;
        await PushAsync(stack.App, s, start, "America/New_York");

        var problem = await (await CreateAsync(stack.App, s, Local(start, "Asia/Tokyo"))).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("America/New_York (the appointment's time zone)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await NothingWasCreatedAsync(stack, s);

        await (await CreateAsync(stack.App, s, Local(start, "America/New_York"))).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task WithoutAPushedZoneALocalTimeIsReadInTheOrganisationsConfiguredZone()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New(TokyoClinic);
        var start = SoonStart;
        await PushAsync(stack.App, s, start, timeZone: null);

        var problem = await (await CreateAsync(stack.App, s, Local(start, "UTC"))).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("Asia/Tokyo (the organisation's configured time zone)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await NothingWasCreatedAsync(stack, s);

        await (await CreateAsync(stack.App, s, Local(start, "Asia/Tokyo"))).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task WithNoZoneKnownALocalTimeIsReadAsUtc()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New(Ids.New("clinic"));
        var start = SoonStart;
        await PushAsync(stack.App, s, start, timeZone: null);

        var problem = await (await CreateAsync(stack.App, s, Local(start, "Asia/Tokyo"))).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("UTC (no time zone is known for the appointment's organisation)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await NothingWasCreatedAsync(stack, s);

        await (await CreateAsync(stack.App, s, Local(start, "UTC"))).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task ALocalTimeThatDisagreesWithTheRecordGets409AndNothingIsCreated()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New(LondonClinic);
        var start = SoonStart;
        await PushAsync(stack.App, s, start, "Europe/London");

        await (await CreateAsync(stack.App, s, Local(start.AddHours(1), "Europe/London"))).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await CreateAsync(stack.App, s, Local(start.AddSeconds(1), "Europe/London"))).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await CreateAsync(stack.App, s, "1999-12-31T23:59:59")).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await CreateAsync(stack.App, s, "9999-12-31T23:59:59")).ShouldBeProblemAsync(HttpStatusCode.Conflict);

        await NothingWasCreatedAsync(stack, s);
    }

    [Theory]
    [InlineData("2027-10-31T00:30:00Z")] // 01:30 British Summer Time, the first 01:30 of the night
    [InlineData("2027-10-31T01:30:00Z")] // 01:30 Greenwich Mean Time, the second
    public async Task ALocalTimeTheClocksRepeatAgreesWhenEitherReadingIsTheRecords(string recorded)
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New(LondonClinic);
        await PushAsync(stack.App, s, DateTimeOffset.Parse(recorded, CultureInfo.InvariantCulture), "Europe/London");

        await (await CreateAsync(stack.App, s, "2027-10-31T01:30:00")).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task ALocalTimeTheClocksRepeatDisagreesWhenNeitherReadingIsTheRecords()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New(LondonClinic);
        await PushAsync(stack.App, s, DateTimeOffset.Parse("2027-10-31T02:30:00Z", CultureInfo.InvariantCulture), "Europe/London");

        await (await CreateAsync(stack.App, s, "2027-10-31T01:30:00")).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await NothingWasCreatedAsync(stack, s);
    }

    [Fact]
    public async Task ALocalTimeTheClocksSkipIsADisagreementThatSaysSoAndCreatesNothing()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New(LondonClinic);
        // 02:30 British Summer Time: the clocks went from 01:00 to 02:00 at 01:00 UTC, so 01:30 never showed that night.
        await PushAsync(stack.App, s, DateTimeOffset.Parse("2027-03-28T01:30:00Z", CultureInfo.InvariantCulture), "Europe/London");

        var problem = await (await CreateAsync(stack.App, s, "2027-03-28T01:30:00")).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("does not exist", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await NothingWasCreatedAsync(stack, s);

        await (await CreateAsync(stack.App, s, "2027-03-28T02:30:00")).ShouldBeOkJsonAsync();
    }

    [Theory]
    [InlineData("2030-01-15 14:00:00")]
    [InlineData("2030-01-15T14")]
    [InlineData("2030-01-15")]
    [InlineData("15/01/2030 14:00")]
    [InlineData("2030-01-15T14:00:00+25:00")]
    public async Task AnAppointmentTimeInNoAcceptedFormGets400NamingTheField(string appointmentTime)
    {
        var stack = await fixture.StartAsync();

        var response = await stack.App.ClientFor("owner-1", "pet-owner").PostAsJsonAsync("/api/chat/channels", new { appointmentId = "ok-1", appointmentTime });

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "appointmentTime");
    }

    [Theory]
    [InlineData("Europe/Lundon")]
    [InlineData("europe/london")]
    [InlineData("Eastern Standard Time")]
    [InlineData("+01:00")]
    [InlineData("")]
    [InlineData("../../../etc/passwd")]
    public async Task APushWithAnUnknownTimeZoneGets400NamingTheField(string timeZone)
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        var facts = s.Facts(SoonStart);
        facts["timeZone"] = timeZone;

        var response = await stack.App.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", facts);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "timeZone");
    }

    [Fact]
    public async Task APushedTimeZoneIsKeptShownAndClearedByAPushWithoutIt()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        var start = SoonStart;
        var pms = stack.App.ClientFor("pms", "service");

        await PushAsync(stack.App, s, start, "Europe/London");
        var shown = await (await pms.GetAsync($"/api/appointments/{s.AppointmentId}")).ShouldBeOkJsonAsync();
        Assert.Equal("Europe/London", shown.GetProperty("timeZone").GetString());

        await PushAsync(stack.App, s, start, timeZone: null);
        var cleared = await (await pms.GetAsync($"/api/appointments/{s.AppointmentId}")).ShouldBeOkJsonAsync();
        Assert.False(cleared.TryGetProperty("timeZone", out _));
    }
}

/// <summary>A stack whose settings give two organisations a time zone.</summary>
public abstract class StackWithZones(DatabaseKind kind) : StackFixture(kind)
{
    protected override async Task<ServiceWithEmulator> CreateAsync() => Own(await ServiceWithEmulator.StartAsync(Kind, new Dictionary<string, string?>
    {
        [$"Chat:TimeZones:{LocalAppointmentTimeTests.TokyoClinic}"] = "Asia/Tokyo",
        [$"Chat:TimeZones:{LocalAppointmentTimeTests.LondonClinic}"] = "Europe/London",
    }));
}

public sealed class SqliteWithZones() : StackWithZones(DatabaseKind.Sqlite);

public sealed class PostgresWithZones() : StackWithZones(DatabaseKind.Postgres);

public sealed class LocalAppointmentTimeTestsOnSqlite(SqliteWithZones fixture) : LocalAppointmentTimeTests(fixture), IClassFixture<SqliteWithZones>;

public sealed class LocalAppointmentTimeTestsOnPostgres(PostgresWithZones fixture) : LocalAppointmentTimeTests(fixture), IClassFixture<PostgresWithZones>;
