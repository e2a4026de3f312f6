using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>Stream rate-limiting one endpoint does not cut the service off from the others.</summary>
public sealed class RateLimitBreakerTests
{
    [Fact]
    public async Task ManyRateLimitedCallsDoNotOpenTheBreakerForEveryOtherStreamCall()
    {
        await using var stack = await ServiceWithEmulator.StartAsync(DatabaseKind.Sqlite);
        var client = stack.Client();
        // Enough 429s to open the standard breaker (at least 100 calls in its window, over 10 % failing); the reset is far
        // enough off that none is retried.
        stack.Emulator.Faults.Add(new FaultRule { Status = 429, PathContains = "/users", ResetInSeconds = 50, Times = 150 });
        for (var i = 0; i < 150; i++)
        {
            var limited = await Assert.ThrowsAsync<StreamApiException>(() => client.UpsertUsersAsync([new StreamUser(Ids.New("user"))], CancellationToken.None));
            Assert.Equal(System.Net.HttpStatusCode.TooManyRequests, limited.Status);
        }

        var channels = await client.QueryChannelsAsync(new QueryChannelsRequest(new System.Text.Json.Nodes.JsonObject(), Limit: 1), CancellationToken.None);

        Assert.NotNull(channels);
    }
}
