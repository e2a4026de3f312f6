using System.Text;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>What goes on the wire matches what Stream's official SDKs send.</summary>
public sealed class StreamWireTests
{
    // jwt.NewWithClaims(HS256, {"server": true}).SignedString("secret") in stream-chat-go, and
    // jwt.sign({server: true}, "secret", {algorithm: "HS256", noTimestamp: true}) in stream-chat-js.
    private const string OfficialServerTokenForSecret = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXJ2ZXIiOnRydWV9.DHnfQolWsEGFcTR7ZwVBbIVUFAvxzDJXzB6UlyU-7JQ";

    [Fact]
    public void TheServerTokenIsByteForByteWhatTheOfficialSdksSign()
    {
        Assert.Equal(OfficialServerTokenForSecret, new StreamTokenSigner("secret").ServerToken);
    }

    [Fact]
    public void AUserTokenIsByteForByteTheJwtOfItsClaims()
    {
        var token = new StreamTokenSigner("secret").CreateUserToken("vet-1", DateTimeOffset.FromUnixTimeSeconds(1700000000), DateTimeOffset.FromUnixTimeSeconds(1700086400));

        Assert.Equal("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoidmV0LTEiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDA4NjQwMH0.35aTYqNdN8LlN40JRHXKC4WFTTVRd0IRzrGyxAZJPuE", token);
    }

    [Fact]
    public async Task EveryCallCarriesTheApiKeyTheServerJwtTheAuthTypeAndTheClientName()
    {
        await using var capture = await RecordingServer.StartAsync();
        capture.Respond = _ => 201;
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["STREAM_API_KEY"] = "the-key",
            ["STREAM_API_SECRET"] = "secret",
            ["STREAM_CHAT_URL"] = capture.Url.ToString(),
        });
        var client = app.Services.CreateScope().ServiceProvider.GetRequiredService<StreamChatClient>();

        try
        {
            await client.UpsertUsersAsync([new StreamUser("vet-1", "Dr. Vet")], CancellationToken.None);
        }
        catch (System.Text.Json.JsonException)
        {
            // The capture answers {}, which is not a users response; only the request matters here.
        }

        // The service's own calls (the catch-up pass at start) carry the same.
        Assert.All(capture.Requests, request =>
        {
            Assert.EndsWith("?api_key=the-key", request.PathAndQuery, StringComparison.Ordinal);
            Assert.Equal(OfficialServerTokenForSecret, request.Headers["Authorization"]);
            Assert.Equal("jwt", request.Headers["Stream-Auth-Type"]);
            Assert.StartsWith("appointment-chat-", request.Headers["X-Stream-Client"], StringComparison.Ordinal);
        });
        var upsert = Assert.Single(capture.Requests, r => r.PathAndQuery.StartsWith("/users?", StringComparison.Ordinal));
        Assert.Equal("POST", upsert.Method);
        Assert.StartsWith("application/json", upsert.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal("""{"users":{"vet-1":{"id":"vet-1","name":"Dr. Vet"}}}""", Encoding.UTF8.GetString(upsert.Body));
    }
}
