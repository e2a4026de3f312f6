using System.Net;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>Our Stream client against the emulator over loopback: every operation, errors and retries.</summary>
public sealed class StreamClientTests(SqliteWithEmulator fixture) : IClassFixture<SqliteWithEmulator>
{
    [Fact]
    public async Task UpsertsUsersAndPartiallyUpdatesThemIncludingTokenRevocation()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var id = Ids.New("user");

        var upserted = await client.UpsertUsersAsync([new StreamUser(id, "Dr. Vet")], CancellationToken.None);
        Assert.Equal("Dr. Vet", upserted.Users[id].Name);

        var revokeAt = DateTimeOffset.UtcNow.AddMinutes(-1);
        await client.PartialUpdateUsersAsync([new UserPartialUpdate(id, new() { ["name"] = "Dr. Renamed" })], CancellationToken.None);
        await client.RevokeUserTokensAsync(id, revokeAt, CancellationToken.None);

        var stored = stack.Emulator.Store.FindUser(id)!;
        Assert.Equal("Dr. Renamed", stored.Custom["name"]!.GetValue<string>());
        Assert.Equal(revokeAt.ToUnixTimeMilliseconds(), stored.RevokeTokensIssuedBefore!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task GetOrCreateCreatesOnceWithMembersAndCustomDataAndThenReturnsTheSameChannel()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var (vet, owner, channelId) = (Ids.New("vet"), Ids.New("owner"), Ids.New("appointment"));
        await client.UpsertUsersAsync([new StreamUser(vet), new StreamUser(owner)], CancellationToken.None);

        var first = await client.GetOrCreateChannelAsync("messaging", channelId, vet, [owner, vet], new JsonObject { ["appointmentId"] = "a-1", ["name"] = "Chat with Alex" }, CancellationToken.None);
        var second = await client.GetOrCreateChannelAsync("messaging", channelId, vet, [owner, vet], new JsonObject { ["name"] = "Ignored" }, CancellationToken.None);

        Assert.Equal($"messaging:{channelId}", first.Channel.Cid);
        Assert.Equal(("a-1", "Chat with Alex"), (first.Channel.CustomString("appointmentId"), first.Channel.CustomString("name")));
        Assert.Equal("Chat with Alex", second.Channel.CustomString("name"));
        Assert.Equal(new[] { owner, vet }.Order(), second.Members!.Select(m => m.UserId).Order());
        Assert.Equal(1, stack.Emulator.Store.ChannelIds().Count(c => c == $"messaging:{channelId}"));
    }

    [Fact]
    public async Task PartialUpdateKeepsOtherCustomDataWhileAFullUpdateReplacesIt()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var channelId = await stack.Emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("vet"), Ids.New("owner")], new JsonObject { ["appointmentId"] = "a-2", ["status"] = "active" });

        var partial = await client.PartialUpdateChannelAsync("messaging", channelId, new JsonObject { ["status"] = "ended", ["frozen"] = true }, ["obsolete"], CancellationToken.None);
        Assert.True(partial.Channel.Frozen);
        Assert.Equal(("ended", "a-2"), (partial.Channel.CustomString("status"), partial.Channel.CustomString("appointmentId")));

        var full = await client.UpdateChannelAsync("messaging", channelId, new JsonObject { ["status"] = "reset" }, CancellationToken.None);
        Assert.Equal("reset", full.Channel.CustomString("status"));
        Assert.Null(full.Channel.CustomString("appointmentId"));
        Assert.False(full.Channel.Frozen);
    }

    [Fact]
    public async Task AddsAndRemovesMembersInSeparateRequests()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var (vet, owner, newVet) = (Ids.New("vet"), Ids.New("owner"), Ids.New("vet"));
        var channelId = await stack.Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        await client.UpsertUsersAsync([new StreamUser(newVet)], CancellationToken.None);

        var added = await client.AddMembersAsync("messaging", channelId, [newVet], CancellationToken.None);
        var removed = await client.RemoveMembersAsync("messaging", channelId, [vet], CancellationToken.None);

        Assert.Equal(new[] { owner, vet, newVet }.Order(), added.Members!.Select(m => m.UserId).Order());
        Assert.Equal(new[] { owner, newVet }.Order(), removed.Members!.Select(m => m.UserId).Order());
    }

    [Fact]
    public async Task SendsMessagesIncludingAsTheSystemUserEvenToAFrozenChannel()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var channelId = await stack.Emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("vet"), Ids.New("owner")], new JsonObject { ["frozen"] = true });
        await client.UpsertUsersAsync([new StreamUser("system", "Veterinary practice")], CancellationToken.None);

        var sent = await client.SendMessageAsync("messaging", channelId, new NewMessage("Chat ended.", "system", Id: $"{channelId}-ended", Type: "system"), CancellationToken.None);

        Assert.Equal("Chat ended.", sent!.Text);
        Assert.Equal("system", sent.User!.Id);
        var snapshot = stack.Emulator.Store.ChannelSnapshot("messaging", channelId)!;
        Assert.Single(snapshot["messages"]!.AsArray());
    }

    [Fact]
    public async Task QueriesChannelsByMemberWithSortLimitAndOffset()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var owner = Ids.New("owner");
        var channels = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            channels.Add(await stack.Emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("vet"), owner], new JsonObject { ["order"] = i }));
        }

        await client.SendMessageAsync("messaging", channels[1], new NewMessage("latest", owner), CancellationToken.None);
        var filter = new JsonObject { ["type"] = "messaging", ["members"] = new JsonObject { ["$in"] = new JsonArray(owner) } };

        var page1 = await client.QueryChannelsAsync(new QueryChannelsRequest(filter, [new ChannelSort("last_message_at", -1), new ChannelSort("created_at", -1)], Limit: 2), CancellationToken.None);
        var page2 = await client.QueryChannelsAsync(new QueryChannelsRequest(filter, [new ChannelSort("last_message_at", -1), new ChannelSort("created_at", -1)], Limit: 2, Offset: 2), CancellationToken.None);

        Assert.Equal(channels[1], page1[0].Channel.Id);
        Assert.Equal("latest", page1[0].Messages!.Single().Text);
        Assert.Equal(4, page1.Concat(page2).Select(c => c.Channel.Id).Distinct().Count());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.QueryChannelsAsync(new QueryChannelsRequest(filter, Limit: 31), CancellationToken.None));
    }

    [Fact]
    public async Task DeletesAChannel()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var channelId = await stack.Emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("vet"), Ids.New("owner")]);

        await client.DeleteChannelAsync("messaging", channelId, CancellationToken.None);

        Assert.Null(stack.Emulator.Store.ChannelSnapshot("messaging", channelId));
        var missing = await Assert.ThrowsAsync<StreamApiException>(() => client.DeleteChannelAsync("messaging", channelId, CancellationToken.None));
        Assert.True(missing.IsNotFound);
    }

    [Fact]
    public async Task AStreamInputErrorBecomesATypedExceptionWithStreamsCodeAndMessage()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var vet = Ids.New("vet");
        await client.UpsertUsersAsync([new StreamUser(vet)], CancellationToken.None);

        var error = await Assert.ThrowsAsync<StreamApiException>(() =>
            client.GetOrCreateChannelAsync("messaging", Ids.New("appointment"), vet, [vet, "nobody-" + vet], null, CancellationToken.None));

        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
        Assert.Equal(4, error.Code);
        Assert.Contains("don't exist", error.StreamMessage, StringComparison.Ordinal);
        Assert.Equal(StatusCodesFor(error), (502, false));
    }

    [Fact]
    public async Task A429WithANearResetIsWaitedOutAndRetried()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var id = Ids.New("user");
        stack.Emulator.Faults.Add(new FaultRule { Status = 429, PathContains = "/users", ResetInSeconds = 2, Times = 1 });
        var started = DateTime.UtcNow;

        await client.UpsertUsersAsync([new StreamUser(id)], CancellationToken.None);

        Assert.NotNull(stack.Emulator.Store.FindUser(id));
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(900), "the client should wait for X-RateLimit-Reset");
    }

    [Fact]
    public async Task A429WithAFarResetIsNotWaitedForAndSaysWhenToRetry()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        stack.Emulator.Faults.Add(new FaultRule { Status = 429, PathContains = "/users", ResetInSeconds = 50, Times = 1 });

        var error = await Assert.ThrowsAsync<StreamApiException>(() => client.UpsertUsersAsync([new StreamUser(Ids.New("user"))], CancellationToken.None));

        Assert.True(error.IsRateLimited);
        Assert.InRange(error.RetryAfter!.Value.TotalSeconds, 40, 51);
        Assert.Equal(503, error.ToProblem().Status);
    }

    [Fact]
    public async Task IdempotentCallsAreRetriedThrough503sAndTimeouts()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var id = Ids.New("user");
        stack.Emulator.Faults.Add(new FaultRule { Status = 503, PathContains = "/users", Times = 1 });
        stack.Emulator.Faults.Add(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 2500, PathContains = "/users", Times = 1 });
        stack.Emulator.Faults.Add(new FaultRule { Kind = FaultKind.Drop, PathContains = "/users", Times = 1 });

        await client.UpsertUsersAsync([new StreamUser(id)], CancellationToken.None);

        Assert.NotNull(stack.Emulator.Store.FindUser(id));
    }

    [Fact]
    public async Task APersistentlyFailingStreamEndsInStreamUnavailableWithinTheTotalBudget()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        stack.Emulator.Faults.Add(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 3000, PathContains = "/users", Times = 0 });
        var started = DateTime.UtcNow;
        try
        {
            await Assert.ThrowsAsync<StreamUnavailableException>(() => client.UpsertUsersAsync([new StreamUser(Ids.New("user"))], CancellationToken.None));
            Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 0.9, 7.5);
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }

    [Fact]
    public async Task TheCallsOfOneRequestShareOneTimeBudgetSoSlowCallsInARowEndIn503NotInMinutes()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client(); // one request's client: Stream__TotalTimeout (6 s here) for all its calls
        stack.Emulator.Faults.Add(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 900, PathContains = "/users", Times = 0 });
        var started = DateTime.UtcNow;
        try
        {
            // Each call is slow but under the 1 s attempt timeout, so each alone would succeed.
            var error = await Assert.ThrowsAsync<StreamUnavailableException>(async () =>
            {
                for (var i = 0; i < 20; i++)
                {
                    await client.UpsertUsersAsync([new StreamUser(Ids.New("user"))], CancellationToken.None);
                }
            });

            Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 5, 7.5);
            Assert.Equal(503, error.ToProblem().Status);
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }

    [Fact]
    public async Task ARetryAfterFurtherOffThanAFewSecondsIsNotWaitedForAndReachesTheCaller()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        stack.Emulator.Faults.Add(new FaultRule { Status = 503, RetryAfterSeconds = 30, PathContains = "/users", Times = 1 });
        var started = DateTime.UtcNow;

        var error = await Assert.ThrowsAsync<StreamApiException>(() => client.UpsertUsersAsync([new StreamUser(Ids.New("user"))], CancellationToken.None));

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), "a wait of 30 s should not be attempted");
        Assert.InRange(error.RetryAfter!.Value.TotalSeconds, 29, 30);
        Assert.Equal(503, error.ToProblem().Status);
    }

    [Fact]
    public async Task ASendWithoutAnIdIsNotRetriedOnceStreamMayHaveAppliedIt()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var owner = Ids.New("owner");
        var channelId = await stack.Emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("vet"), owner]);
        stack.Emulator.Faults.Add(new FaultRule { Kind = FaultKind.ErrorAfterApply, Status = 503, PathContains = "/message", Times = 1 });

        var error = await Assert.ThrowsAsync<StreamApiException>(() => client.SendMessageAsync("messaging", channelId, new NewMessage("hello", owner), CancellationToken.None));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.Status);
        Assert.Single(stack.Emulator.Store.ChannelSnapshot("messaging", channelId)!["messages"]!.AsArray());
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == "SendMessage" && c.Path.Contains(channelId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASendWithOurOwnIdIsRetriedAndTheDuplicateCountsAsDelivered()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var client = stack.Client();
        var owner = Ids.New("owner");
        var channelId = await stack.Emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("vet"), owner]);
        stack.Emulator.Faults.Add(new FaultRule { Kind = FaultKind.DropAfterApply, PathContains = "/message", Times = 1 });

        await client.SendMessageAsync("messaging", channelId, new NewMessage("hello", owner, Id: channelId + "-m1"), CancellationToken.None);

        Assert.Single(stack.Emulator.Store.ChannelSnapshot("messaging", channelId)!["messages"]!.AsArray());
        Assert.Equal(2, stack.Emulator.Calls.Count(c => c.Endpoint == "SendMessage" && c.Path.Contains(channelId, StringComparison.Ordinal)));
    }

    private static (int Status, bool HasRetryAfter) StatusCodesFor(StreamApiException error) =>
        (error.ToProblem().Status!.Value, error.RetryAfter is not null);
}
