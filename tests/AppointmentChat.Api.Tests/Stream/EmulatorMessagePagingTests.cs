using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>
/// A channel query's <c>messages</c> pagination, as Stream pages messages (getstream.io/chat/docs "Channel Pagination";
/// GetStream/protocol MessagePaginationParams): by id, oldest first in a page, at most 300 a page.
/// </summary>
public sealed class EmulatorMessagePagingTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private EmulatorHost Emulator { get; } = fixture.ForNextTest();

    private async Task<(string ChannelId, List<string> Ids)> ChannelWithMessagesAsync(int count)
    {
        var channelId = await Emulator.CreateChannelAsync(Ids.New("paging"), ["pager-a", "pager-b"]);
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var sent = Emulator.Store.SendMessage(new StreamCaller(false, "pager-a", null), "messaging", channelId, new JsonObject { ["text"] = $"m{i}" });
            ids.Add(sent["message"]!["id"]!.GetValue<string>());
        }

        return (channelId, ids);
    }

    private async Task<(int Status, List<string> Ids, JsonObject Body)> PageAsync(string channelId, JsonObject messages)
    {
        var (status, body, _) = await Emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channelId}/query", new JsonObject { ["state"] = true, ["messages"] = messages });
        return (status, status == 201 ? [.. body["messages"]!.AsArray().Select(m => m!["id"]!.GetValue<string>())] : [], body);
    }

    [Fact]
    public async Task MessagesPageBackwardsWithIdLtAndForwardsWithIdGtOldestFirst()
    {
        var (channelId, ids) = await ChannelWithMessagesAsync(10);

        Assert.Equal(ids[6..], (await PageAsync(channelId, new JsonObject { ["limit"] = 4 })).Ids);
        Assert.Equal(ids[2..6], (await PageAsync(channelId, new JsonObject { ["limit"] = 4, ["id_lt"] = ids[6] })).Ids);
        Assert.Equal(ids[..2], (await PageAsync(channelId, new JsonObject { ["limit"] = 4, ["id_lt"] = ids[2] })).Ids);
        Assert.Equal(ids[3..7], (await PageAsync(channelId, new JsonObject { ["limit"] = 4, ["id_lte"] = ids[6] })).Ids);
        Assert.Equal(ids[3..7], (await PageAsync(channelId, new JsonObject { ["limit"] = 4, ["id_gt"] = ids[2] })).Ids);
        Assert.Equal(ids[2..6], (await PageAsync(channelId, new JsonObject { ["limit"] = 4, ["id_gte"] = ids[2] })).Ids);
        Assert.Equal(ids[3..6], (await PageAsync(channelId, new JsonObject { ["limit"] = 10, ["id_gt"] = ids[2], ["id_lt"] = ids[6] })).Ids);
        Assert.Empty((await PageAsync(channelId, new JsonObject { ["limit"] = 4, ["id_lt"] = ids[0] })).Ids);
    }

    [Fact]
    public async Task APageHoldsAtMost300AndALargerLimitIsRefusedAsStreamRefusesIt()
    {
        var (channelId, ids) = await ChannelWithMessagesAsync(301);

        Assert.Equal(ids[1..], (await PageAsync(channelId, new JsonObject { ["limit"] = 300 })).Ids);
        Assert.Equal(25, (await PageAsync(channelId, [])).Ids.Count);

        foreach (var bad in new[] { new JsonObject { ["limit"] = 301 }, new JsonObject { ["limit"] = "ten" }, new JsonObject { ["id_lt"] = 5 } })
        {
            var (status, _, body) = await PageAsync(channelId, bad);
            Assert.True(status == 400, body.ToJsonString());
            Assert.Equal(4, body["code"]!.GetValue<int>());
        }
    }
}
