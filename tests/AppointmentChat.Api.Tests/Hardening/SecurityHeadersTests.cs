using System.Net.Http.Json;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>Every answer says <c>nosniff</c>; every API answer, personal or a credential, says <c>no-store</c> — errors too.</summary>
public sealed class SecurityHeadersTests
{
    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task EveryAnswerIsNosniffAndEveryApiAnswerIsNoStore(DatabaseKind kind)
    {
        await using var stack = await ServiceWithEmulator.StartAsync(kind);
        var app = stack.App;
        var s = Scenario.New();
        var owner = app.ClientFor(s.PetOwnerId, "pet-owner");

        var api = new List<HttpResponseMessage>
        {
            await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddMinutes(2))),
            await owner.GetAsync($"/api/appointments/{s.AppointmentId}"),
            await s.CreateChatAsync(owner),
            await owner.GetAsync("/api/chat/channels"),
            await owner.PostAsJsonAsync("/api/devices", new { token = "device-" + Guid.NewGuid().ToString("N"), platform = "ios" }),
            await owner.PostAsJsonAsync("/api/chat/token", new { }),
            await owner.GetAsync("/api/chat/config"),
            await app.AnonymousClient().GetAsync("/api/chat/channels"), // 401
            await owner.GetAsync("/api/appointments/nope"), // 404
        };
        var other = await app.AnonymousClient().GetAsync("/health/live");

        foreach (var response in api.Append(other))
        {
            Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var sniff) && sniff.Single() == "nosniff", $"{response.RequestMessage!.RequestUri}: no nosniff");
        }

        foreach (var response in api)
        {
            Assert.True(response.Headers.CacheControl?.NoStore == true, $"{response.RequestMessage!.RequestUri} ({(int)response.StatusCode}): Cache-Control {response.Headers.CacheControl}");
        }
    }
}
