using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using System.Net;
using System.Text.Json;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Tests.Channels;

/// <summary>GET /api/chat/channels: scoped, ordered by activity, paged with cursors; on SQLite and PostgreSQL.</summary>
public abstract class ChannelListTests(StackFixture fixture)
{
    private static readonly string[] ShownFields = ["id", "name", "members", "lastMessage", "lastMessageAt", "appointmentId"];

    private static DateTimeOffset SoonStart => DateTimeOffset.UtcNow.AddMinutes(2);

    private static async Task<Scenario> ChatAsync(ServiceWithEmulator stack, Scenario s, DateTimeOffset? activity = null, string? lastMessage = null)
    {
        await s.PushAsync(stack.App, SoonStart);
        await s.CreateChatOkAsync(stack.App);
        if (activity is { } at)
        {
            // What the message.new webhook does to the mirror.
            await stack.App.InDatabaseAsync(db => db.Chats.Where(a => a.AppointmentId == s.AppointmentId).ExecuteUpdateAsync(set => set
                .SetProperty(a => a.LastActivityAt, at)
                .SetProperty(a => a.LastMessageAt, at)
                .SetProperty(a => a.LastMessageText, lastMessage)));
        }

        return s;
    }

    private static async Task<JsonElement> ListAsync(HttpClient client, string query = "") =>
        await (await client.GetAsync("/api/chat/channels" + query)).ShouldBeOkJsonAsync();

    private static string[] Ids_(JsonElement list) => [.. list.GetProperty("channels").EnumerateArray().Select(c => c.GetProperty("appointmentId").GetString()!)];

    [Fact]
    public async Task AUserSeesTheirChatsNewestActivityFirstWithTheGuidesFields()
    {
        var stack = await fixture.StartAsync();
        var vet = Ids.New("vet");
        var now = DateTimeOffset.UtcNow;
        var quiet = await ChatAsync(stack, Scenario.New() with { VetId = vet });
        var older = await ChatAsync(stack, Scenario.New() with { VetId = vet }, now.AddMinutes(-30), "older message");
        var newest = await ChatAsync(stack, Scenario.New() with { VetId = vet }, now.AddMinutes(-1), "newest message");
        await ChatAsync(stack, Scenario.New()); // someone else's

        var list = await ListAsync(stack.App.ClientFor(vet, "vet"));

        // A chat without messages counts from its creation, which was just now.
        Assert.Equal([quiet.AppointmentId, newest.AppointmentId, older.AppointmentId], Ids_(list));
        var first = list.GetProperty("channels")[1];
        Assert.Equal(newest.ChannelId, first.GetProperty("id").GetString());
        Assert.Equal("Chat with Alex Owner", first.GetProperty("name").GetString());
        Assert.Equal([newest.PetOwnerId, vet], first.GetProperty("members").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("newest message", first.GetProperty("lastMessage").GetString());
        Assert.Equal(now.AddMinutes(-1).ToUnixTimeMilliseconds(), first.GetProperty("lastMessageAt").GetInt64(), 1.0);
        Assert.Equal("active", first.GetProperty("status").GetString());
        Assert.True(first.TryGetProperty("activatesAt", out _) && first.TryGetProperty("closesAt", out _));
        Assert.False(list.GetProperty("channels")[0].TryGetProperty("lastMessage", out _));
    }

    [Fact]
    public async Task LastMessagesComeBackExactlyAsStoredNonAsciiAndEmptyIncluded()
    {
        var stack = await fixture.StartAsync();
        var vet = Ids.New("vet");
        var now = DateTimeOffset.UtcNow;
        var accented = await ChatAsync(stack, Scenario.New() with { VetId = vet }, now.AddMinutes(-2), "Rex a bien mangé 🐶 — merci");
        var empty = await ChatAsync(stack, Scenario.New() with { VetId = vet }, now.AddMinutes(-1), ""); // an attachment without text

        var list = await ListAsync(stack.App.ClientFor(vet, "vet"));

        Assert.Equal([empty.AppointmentId, accented.AppointmentId], Ids_(list));
        var channels = list.GetProperty("channels");
        Assert.Equal("", channels[0].GetProperty("lastMessage").GetString());
        Assert.Equal("Rex a bien mangé 🐶 — merci", channels[1].GetProperty("lastMessage").GetString());
    }

    [Fact]
    public async Task PagesFollowTheCursorWithoutGapsOrRepeats()
    {
        var stack = await fixture.StartAsync();
        var owner = Ids.New("owner");
        var now = DateTimeOffset.UtcNow;
        var expected = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            // Two chats share each activity time, so the id breaks ties.
            var s = await ChatAsync(stack, Scenario.New() with { PetOwnerId = owner }, now.AddMinutes(-(i / 2)), $"m{i}");
            expected.Add(s.AppointmentId);
        }

        var client = stack.App.ClientFor(owner, "pet-owner");
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await ListAsync(client, "?limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            seen.AddRange(Ids_(page));
            cursor = page.TryGetProperty("nextCursor", out var next) ? next.GetString() : null;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(expected.Order(), seen.Order());
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Fact]
    public async Task TheLargestPageHoldsAHundredChatsAndTheNextPageTheRest()
    {
        var stack = await fixture.StartAsync();
        // 102 chats made back to back would meet Stream's 10 user updates a second, which the service rightly answers
        // with 503 once its retries are spent; paging is what this test looks at.
        stack.Emulator.RaiseRateLimits();
        var vet = Ids.New("vet");
        var now = DateTimeOffset.UtcNow;
        var expected = new List<string>();
        for (var i = 0; i < 102; i++)
        {
            expected.Add((await ChatAsync(stack, Scenario.New() with { VetId = vet }, now.AddSeconds(-i), $"m{i}")).AppointmentId);
        }

        var client = stack.App.ClientFor(vet, "vet");
        var first = await ListAsync(client, "?limit=100");
        var second = await ListAsync(client, "?limit=100&cursor=" + first.GetProperty("nextCursor").GetString());

        Assert.Equal(expected[..100], Ids_(first));
        Assert.Equal(expected[100..], Ids_(second));
        Assert.False(second.TryGetProperty("nextCursor", out _));
        Assert.Equal(expected[..2], Ids_(await ListAsync(client, "?limit=2")));
    }

    [Fact]
    public async Task TheRoleFilterPicksTheCallersSideAndTheStatusFilterTheChatsState()
    {
        var stack = await fixture.StartAsync();
        var person = Ids.New("person"); // a vet who also brings their own pet
        var asVet = await ChatAsync(stack, Scenario.New() with { VetId = person });
        var asOwner = await ChatAsync(stack, Scenario.New() with { PetOwnerId = person });
        var endedOne = await ChatAsync(stack, Scenario.New() with { VetId = person });
        await (await endedOne.EndAsync(stack.App.ClientFor(person, "vet"))).ShouldBeOkJsonAsync();
        var client = stack.App.ClientFor(person, "vet");

        Assert.Equal(new[] { asVet.AppointmentId, asOwner.AppointmentId, endedOne.AppointmentId }.Order(), Ids_(await ListAsync(client)).Order());
        Assert.Equal(new[] { asVet.AppointmentId, endedOne.AppointmentId }.Order(), Ids_(await ListAsync(client, "?role=vet")).Order());
        Assert.Equal([asOwner.AppointmentId], Ids_(await ListAsync(client, "?role=pet-owner")));
        Assert.Equal([endedOne.AppointmentId], Ids_(await ListAsync(client, "?status=ended")));
        Assert.Equal(new[] { asVet.AppointmentId, asOwner.AppointmentId }.Order(), Ids_(await ListAsync(client, "?status=active")).Order());
    }

    [Fact]
    public async Task APersonOnBothSidesPagesThroughAllTheirChatsInOneActivityOrder()
    {
        var stack = await fixture.StartAsync();
        var person = Ids.New("person"); // a vet who also brings their own pet
        var now = DateTimeOffset.UtcNow;
        var expected = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            // Sides alternate irregularly and two chats share each activity time, so the pages have to merge both sides by
            // time, then by id.
            var scenario = i % 3 == 0 ? Scenario.New() with { PetOwnerId = person } : Scenario.New() with { VetId = person };
            expected.Add((await ChatAsync(stack, scenario, now.AddMinutes(-10 - (i / 2)), $"m{i}")).AppointmentId);
        }

        var ordered = expected.Select((id, i) => (id, at: i / 2)).OrderBy(x => x.at).ThenByDescending(x => x.id, StringComparer.Ordinal).Select(x => x.id).ToList();
        // Creating a chat upserts its members to Stream, whose user.updated webhooks then record the name Stream has: the
        // last chat's (as vet) comes last.
        var lastName = "Dr. " + person;
        await Eventually.TrueAsync(
            async () => await stack.App.InDatabaseAsync(db => db.ChatUsers.AnyAsync(u => u.Id == person && u.Name == lastName)), "Stream's name for the person to be recorded");
        var client = stack.App.ClientFor(person);
        // Each chat as the one-sided lists show it (what the statements read; its status can move on between requests).
        static string Shown(JsonElement chat) => string.Join("|", ShownFields.Select(field => chat.GetProperty(field).GetRawText()));
        var bySide = new Dictionary<string, string>();
        foreach (var role in new[] { "vet", "pet-owner" })
        {
            foreach (var chat in (await ListAsync(client, "?limit=100&role=" + role)).GetProperty("channels").EnumerateArray())
            {
                bySide.Add(chat.GetProperty("appointmentId").GetString()!, Shown(chat));
            }
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await ListAsync(client, "?limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.All(page.GetProperty("channels").EnumerateArray(), c => Assert.Equal(bySide[c.GetProperty("appointmentId").GetString()!], Shown(c)));
            seen.AddRange(Ids_(page));
            cursor = page.TryGetProperty("nextCursor", out var next) ? next.GetString() : null;
        }
        while (cursor is not null);

        Assert.Equal(ordered, seen);
    }

    [Fact]
    public async Task AnAdminSeesTheirOrganisationsChatsAndNeverAnotherClinics()
    {
        var stack = await fixture.StartAsync();
        var (mine, theirs) = (Ids.New("clinic"), Ids.New("clinic"));
        var a = await ChatAsync(stack, Scenario.New(mine));
        var b = await ChatAsync(stack, Scenario.New(mine));
        var other = await ChatAsync(stack, Scenario.New(theirs));

        var list = Ids_(await ListAsync(stack.App.ClientFor("admin-1", "admin", mine)));

        Assert.Equal(new[] { a.AppointmentId, b.AppointmentId }.Order(), list.Order());
        Assert.DoesNotContain(other.AppointmentId, list);
        Assert.Equal([other.AppointmentId], Ids_(await ListAsync(stack.App.ClientFor("pms", "service"), $"?organisationId={theirs}")));
        await (await stack.App.ClientFor("pms", "service").GetAsync("/api/chat/channels")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "organisationId");
    }

    [Fact]
    public async Task AUserWithNoChatsGetsAnEmptyList()
    {
        var stack = await fixture.StartAsync();

        var list = await ListAsync(stack.App.ClientFor(Ids.New("owner"), "pet-owner"));

        Assert.Empty(list.GetProperty("channels").EnumerateArray());
        Assert.False(list.TryGetProperty("nextCursor", out _));
    }

    [Theory]
    [InlineData("?role=admin", "role")]
    [InlineData("?status=open", "status")]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=101", "limit")]
    [InlineData("?limit=ten", "limit")]
    [InlineData("?cursor=not-a-cursor", "cursor")]
    [InlineData("?cursor=MTIzfHh4eCB5eQ", "cursor")]
    public async Task BadQueryValuesGet400NamingTheParameter(string query, string field)
    {
        var stack = await fixture.StartAsync();

        var response = await stack.App.ClientFor("owner-1", "pet-owner").GetAsync("/api/chat/channels" + query);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);
    }
}

public sealed class ChannelListTestsOnSqlite(SqliteWithEmulator fixture) : ChannelListTests(fixture), IClassFixture<SqliteWithEmulator>;

public sealed class ChannelListTestsOnPostgres(PostgresWithEmulator fixture) : ChannelListTests(fixture), IClassFixture<PostgresWithEmulator>;
