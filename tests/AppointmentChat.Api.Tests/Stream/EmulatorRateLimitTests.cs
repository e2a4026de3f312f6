using System.Globalization;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>
/// The emulator limits calls as Stream does (stream-chat-go docs/debugging_and_cli/rate_limits.md): per endpoint and
/// platform, per minute and per second (limit / 30), 60 a minute per user, with 429 code 9 and the X-RateLimit-* headers.
/// Its clock is pinned to the middle of a second so each test knows which window every call falls in.
/// </summary>
public sealed class EmulatorRateLimitTests
{
    [Fact]
    public async Task TheEleventhUpdateChannelCallInOneSecondIsRefusedWithCode9UntilTheNextSecond()
    {
        var (emulator, clock) = await StartAsync();
        await using var _ = emulator;
        var channel = await emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("owner")]);

        var statuses = new List<int>();
        for (var i = 0; i < 11; i++)
        {
            statuses.Add((await PartialUpdateAsync(emulator, channel)).Status);
        }

        var (status, body, response) = await PartialUpdateAsync(emulator, channel);
        Assert.Equal(Enumerable.Repeat(200, 10).Append(429), statuses);
        Assert.Equal((429, 9), (status, body["code"]!.GetValue<int>()));
        Assert.Equal("300", Header(response, "X-RateLimit-Limit"));
        Assert.Equal("0", Header(response, "X-RateLimit-Remaining"));
        Assert.Equal(clock.GetUtcNow().ToUnixTimeSeconds() + 1, long.Parse(Header(response, "X-RateLimit-Reset"), CultureInfo.InvariantCulture));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(200, (await PartialUpdateAsync(emulator, channel)).Status);
    }

    [Fact]
    public async Task UpdateChannelAllows300AMinuteThenRefusesUntilTheMinuteEnds()
    {
        var (emulator, clock) = await StartAsync(atSecondOfMinute: 0);
        await using var _ = emulator;
        var channel = await emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("owner")]);
        var minuteEnds = (clock.GetUtcNow().ToUnixTimeSeconds() / 60 + 1) * 60;

        var accepted = 0;
        for (var second = 0; second < 31; second++)
        {
            for (var i = 0; i < 10; i++)
            {
                var (status, _, response) = await PartialUpdateAsync(emulator, channel);
                if (status == 200)
                {
                    accepted++;
                }
                else
                {
                    Assert.Equal(429, status);
                    Assert.Equal(minuteEnds, long.Parse(Header(response, "X-RateLimit-Reset"), CultureInfo.InvariantCulture));
                }
            }

            clock.Advance(TimeSpan.FromSeconds(1));
        }

        // The channel's creation used no Update Channel call: exactly the documented 300 got through.
        Assert.Equal(300, accepted);
    }

    [Fact]
    public async Task AUsersCallsCountApartFromTheServersAndStopAtSixtyAMinute()
    {
        var (emulator, clock) = await StartAsync(atSecondOfMinute: 0);
        await using var _ = emulator;
        var owner = Ids.New("owner");
        var channel = await emulator.CreateChannelAsync(Ids.New("appointment"), [owner]);

        // The server spends its per-second Send Message allowance (1,000 / 30 = 33)…
        var serverStatuses = new List<int>();
        for (var i = 0; i < 34; i++)
        {
            serverStatuses.Add((await SendAsync(emulator, channel, owner, EmulatorHost.ServerToken)).Status);
        }

        // …and the user, on another platform, still sends: 60 a minute, spread over seconds, then no more this minute.
        var userStatuses = new List<int>();
        var userToken = EmulatorHost.UserToken(owner, clock.GetUtcNow().AddSeconds(-5));
        for (var i = 0; i < 61; i++)
        {
            userStatuses.Add((await SendAsync(emulator, channel, owner, userToken)).Status);
            if (i % 20 == 19)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
            }
        }

        Assert.Equal(Enumerable.Repeat(201, 33).Append(429), serverStatuses);
        Assert.Equal(Enumerable.Repeat(201, 60).Append(429), userStatuses);
    }

    [Fact]
    public async Task DeleteChannelAllowsTwoASecondAndLimitsCanBeRaisedThroughTheSettings()
    {
        var (emulator, _) = await StartAsync();
        await using var __ = emulator;
        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            var channel = await emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("owner")]);
            statuses.Add((await emulator.CallAsync(HttpMethod.Delete, $"channels/messaging/{channel}")).Status);
        }

        var (settingsStatus, settings, _) = await emulator.ControlAsync(HttpMethod.Put, "settings", new { rateLimits = new Dictionary<string, int> { ["DeleteChannel"] = 6000 } });
        var raised = await emulator.CreateChannelAsync(Ids.New("appointment"), [Ids.New("owner")]);
        var (afterRaise, _, response) = await emulator.CallAsync(HttpMethod.Delete, $"channels/messaging/{raised}");

        Assert.Equal([200, 200, 429], statuses);
        Assert.Equal(200, settingsStatus);
        Assert.Equal(6000, settings["rateLimits"]!["DeleteChannel"]!.GetValue<int>());
        Assert.Equal((200, "6000"), (afterRaise, Header(response, "X-RateLimit-Limit")));
    }

    private static async Task<(EmulatorHost Emulator, FakeTimeProvider Clock)> StartAsync(int? atSecondOfMinute = null)
    {
        // Ahead of the real clock, so the test's tokens (issued now) are not "used before issue".
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2);
        if (atSecondOfMinute is { } second)
        {
            start = start.AddSeconds((60 + second - start.Second) % 60 + 60);
        }

        var clock = new FakeTimeProvider(start.AddMilliseconds(500));
        return (await EmulatorHost.StartAsync(time: clock), clock);
    }

    private static Task<(int Status, JsonObject Body, HttpResponseMessage Response)> PartialUpdateAsync(EmulatorHost emulator, string channel) =>
        emulator.CallAsync(HttpMethod.Patch, $"channels/messaging/{channel}", new JsonObject { ["set"] = new JsonObject { ["note"] = "x" } });

    private static Task<(int Status, JsonObject Body, HttpResponseMessage Response)> SendAsync(EmulatorHost emulator, string channel, string userId, string token) =>
        emulator.CallAsync(HttpMethod.Post, $"channels/messaging/{channel}/message",
            new JsonObject { ["message"] = new JsonObject { ["text"] = "hello", ["user_id"] = userId } }, token);

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();
}
