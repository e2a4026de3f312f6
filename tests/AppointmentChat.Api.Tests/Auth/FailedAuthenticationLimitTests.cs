using System.Net;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Auth;

/// <summary>
/// An address that keeps failing authentication is answered 429 before its tokens are checked, valid ones included,
/// until its window refills; on both databases (the limit keeps no state in them).
/// </summary>
public sealed class FailedAuthenticationLimitTests
{
    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task AfterFiveFailuresAnAddressGets429WithRetryAfterUntilItsWindowRefills(DatabaseKind kind)
    {
        await using var app = await ChatApp.StartAsync(kind, new Dictionary<string, string?>
        {
            ["RateLimiting:FailedAuthentication:PermitLimit"] = "5",
            ["RateLimiting:FailedAuthentication:WindowSeconds"] = "5",
        });
        var forged = app.ClientWithToken(TestJwt.Create(TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromHours(1)), "another-secret-entirely-0123456789"));
        var valid = app.ClientFor("vet-1", "vet");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            statuses.Add((await forged.GetAsync("/api/chat/channels")).StatusCode);
        }

        var anonymous = await app.AnonymousClient().GetAsync("/api/chat/channels");
        var validMeanwhile = await valid.GetAsync("/api/chat/channels");

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), HttpStatusCode.TooManyRequests], statuses);
        var problem = await validMeanwhile.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains("invalid credentials from this address", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(validMeanwhile.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal(HttpStatusCode.TooManyRequests, anonymous.StatusCode);

        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync("/api/chat/channels")).StatusCode);
    }
}
