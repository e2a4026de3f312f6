using System.Net;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;

namespace AppointmentChat.Api.Tests.Channels;

/// <summary>
/// Stream no longer has users the service remembers making there (deleted in Stream's dashboard, the service switched to
/// another Stream app, the emulator reset): the service notices by Stream's error code and a look-up, upserts them again
/// and retries once, on SQLite and PostgreSQL.
/// </summary>
public abstract class UsersGoneFromStreamTests(StackFixture fixture)
{
    private static DateTimeOffset SoonStart => DateTimeOffset.UtcNow.AddMinutes(2);

    [Fact]
    public async Task EndingAChatWhoseSystemUserWasDeletedInStreamUpsertsItAgainAndEnds()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);
        await s.CreateChatOkAsync(stack.App);
        DeleteUsersInStream(stack.Emulator, "system");

        var ended = await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"));

        await ended.ShouldBeOkJsonAsync();
        var message = Assert.Single(Scenario.Messages(s.StreamChannel(stack.Emulator)!));
        Assert.Equal("system", message!["user"]!["id"]!.GetValue<string>());
        Assert.NotNull(stack.Emulator.Store.FindUser("system"));
        Assert.Contains(stack.App.Logs.Lines, l => l.Message.Contains("no longer had 1 of its user(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpeningAChatForPeopleDeletedInStreamUpsertsThemAgainAndCreatesIt()
    {
        var stack = await fixture.StartAsync();
        var first = Scenario.New();
        await first.PushAsync(stack.App, SoonStart);
        await first.CreateChatOkAsync(stack.App);
        DeleteUsersInStream(stack.Emulator, first.PetOwnerId, first.VetId);
        var second = first with { AppointmentId = Ids.New("apt") };
        await second.PushAsync(stack.App, SoonStart);

        await second.CreateChatOkAsync(stack.App);

        Assert.Equal("Alex Owner", stack.Emulator.Store.FindUser(first.PetOwnerId)!.Custom["name"]!.GetValue<string>());
        Assert.NotNull(second.StreamChannel(stack.Emulator));
    }

    [Fact]
    public async Task ARefusalThatNoMissingUserExplainsIsNotRetried()
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);
        await s.CreateChatOkAsync(stack.App);
        stack.Emulator.Faults.Add(new FaultRule { Status = 400, PathContains = $"/channels/messaging/{s.ChannelId}/message", Times = 1 });
        var sends = stack.Emulator.Calls.Count(c => c.Endpoint == "SendMessage");
        try
        {
            var ended = await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"));

            await ended.ShouldBeProblemAsync(HttpStatusCode.BadGateway);
            Assert.Equal(sends + 1, stack.Emulator.Calls.Count(c => c.Endpoint == "SendMessage"));
            Assert.Contains(stack.Emulator.Calls, c => c.Endpoint == "QueryUsers");
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }

    /// <summary>As Stream's dashboard would: the users are gone, their channels and messages stay.</summary>
    private static void DeleteUsersInStream(EmulatorHost emulator, params string[] ids)
    {
        var (state, _) = emulator.Store.Export();
        emulator.Store.Import(state with { Users = [.. state.Users.Where(u => !ids.Contains(u.Id))] });
    }
}

public sealed class UsersGoneFromStreamTestsOnSqlite(SqliteWithEmulator fixture) : UsersGoneFromStreamTests(fixture), IClassFixture<SqliteWithEmulator>;

public sealed class UsersGoneFromStreamTestsOnPostgres(PostgresWithEmulator fixture) : UsersGoneFromStreamTests(fixture), IClassFixture<PostgresWithEmulator>;
