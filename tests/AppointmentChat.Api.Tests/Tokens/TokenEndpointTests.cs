using System.Net;
using System.Security.Cryptography;
using System.Text;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Tokens;

public sealed class TokenEndpointTests(SqliteApp fixture) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task IssuesAStreamUserTokenSignedWithTheStreamSecretThatReallyExpiresIn24Hours()
    {
        var app = await fixture.StartAsync();
        var userId = Ids.New("vet");
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var response = await app.ClientFor(userId, "vet").PostJsonAsync("/api/chat/token", new { userId });

        var body = await response.ShouldBeOkJsonAsync();
        var token = body.GetProperty("token").GetString()!;
        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);

        // The exact header Stream's SDKs use, and a signature recomputed here from the secret.
        Assert.Equal("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", parts[0]);
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(ChatApp.StreamSecret), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
        Assert.Equal(System.Buffers.Text.Base64Url.EncodeToString(expected), parts[2]);
        Assert.DoesNotContain('=', token);

        var payload = TestJwt.DecodePart(token, 1);
        Assert.Equal(userId, payload.GetProperty("user_id").GetString());
        var iat = payload.GetProperty("iat").GetInt64();
        var exp = payload.GetProperty("exp").GetInt64();
        // Issued a minute in the past (Chat__TokenBackdate), valid for 24 hours from now.
        Assert.InRange(iat, before - 60 - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60 + 1);
        Assert.Equal(24 * 3600 + 60, exp - iat);
        Assert.Equal(exp * 1000, body.GetProperty("expiresAt").GetInt64());
    }

    [Fact]
    public async Task TheTokenResponseTellsEveryCacheNotToStoreIt()
    {
        var app = await fixture.StartAsync();
        var userId = Ids.New("owner");

        var response = await app.ClientFor(userId, "pet-owner").PostJsonAsync("/api/chat/token", new { userId });

        await response.ShouldBeOkJsonAsync();
        Assert.True(response.Headers.CacheControl?.NoStore, $"Cache-Control was '{response.Headers.CacheControl}'");
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("")]
    [InlineData("null")]
    public async Task OmittingTheUserIdMeansTheCaller(string requestBody)
    {
        var app = await fixture.StartAsync();
        var userId = Ids.New("owner");
        var client = app.ClientFor(userId, "pet-owner");

        var response = requestBody.Length == 0
            ? await client.PostAsync("/api/chat/token", null)
            : await client.PostRawAsync("/api/chat/token", requestBody);

        var body = await response.ShouldBeOkJsonAsync();
        Assert.Equal(userId, TestJwt.DecodePart(body.GetProperty("token").GetString()!, 1).GetProperty("user_id").GetString());
    }

    [Fact]
    public async Task RefusesATokenForAnotherUsersIdWith403()
    {
        var app = await fixture.StartAsync();

        var response = await app.ClientFor(Ids.New("owner"), "pet-owner").PostJsonAsync("/api/chat/token", new { userId = "vet-1" });

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        Assert.DoesNotContain("token\"", problem.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvenTheServiceRoleGetsTokensOnlyForItself()
    {
        var app = await fixture.StartAsync();

        var response = await app.ClientFor("pms", "service").PostJsonAsync("/api/chat/token", new { userId = "owner-1" });

        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("""{"userId":""}""", "userId")]
    [InlineData("""{"userId":"vet 1"}""", "userId")]
    [InlineData("""{"userId":"vet|1"}""", "userId")]
    [InlineData("""{"userId":"vét-1"}""", "userId")]
    [InlineData("""{"userId":"vet\u00011"}""", "userId")]
    [InlineData("""{"userId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""", "userId")]
    [InlineData("""{"userId":5}""", "userId")]
    [InlineData("""{"userId":true}""", "userId")]
    [InlineData("""{"userId":["vet-1"]}""", "userId")]
    [InlineData("""{"userId":{"id":"vet-1"}}""", "userId")]
    [InlineData("""{"userId":"vet-1","admin":true}""", "admin")]
    [InlineData("""{"userId":"vet-1" """, null)]
    [InlineData("""{userId:"vet-1"}""", null)]
    [InlineData("""[]""", null)]
    [InlineData("\"vet-1\"", null)]
    public async Task BadInputGets400ProblemDetailsNamingTheField(string requestBody, string? field)
    {
        var app = await fixture.StartAsync();

        var response = await app.ClientFor("vet-1", "vet").PostRawAsync("/api/chat/token", requestBody);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task ABodyThatIsNotJsonGets415()
    {
        var app = await fixture.StartAsync();

        var response = await app.ClientFor("vet-1", "vet").PostRawAsync("/api/chat/token", "userId=vet-1", "application/x-www-form-urlencoded");

        await response.ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task ACallerWhoseSubjectIsNoStreamUserIdGets403NotAChatUser()
    {
        var app = await fixture.StartAsync();

        var response = await app.ClientFor("auth0|12345", "pet-owner").PostJsonAsync("/api/chat/token", new { });

        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "not-a-chat-user");
    }
}

public sealed class TokenSettingsTests
{
    [Fact]
    public async Task TokenLifetimeAndBackdateFollowTheirSettings()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["Chat:TokenLifetime"] = "01:30:00", ["Chat:TokenBackdate"] = "00:00:10" });

        var body = await (await app.ClientFor("vet-1", "vet").PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync();

        var payload = TestJwt.DecodePart(body.GetProperty("token").GetString()!, 1);
        Assert.Equal(90 * 60 + 10, payload.GetProperty("exp").GetInt64() - payload.GetProperty("iat").GetInt64());
    }

    [Fact]
    public async Task EachUserIsLimitedToThePermitLimitPerWindowThenGets429WithRetryAfter()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["RateLimiting:Token:PermitLimit"] = "3",
            ["RateLimiting:Token:WindowSeconds"] = "120",
        });
        var client = app.ClientFor("owner-1", "pet-owner");

        for (var i = 0; i < 3; i++)
        {
            await (await client.PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync();
        }

        var limited = await client.PostJsonAsync("/api/chat/token", new { });
        await limited.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests);
        var retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 120);

        // Another user has a budget of their own.
        await (await app.ClientFor("owner-2", "pet-owner").PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task TheTokenPathTouchesNeitherTheDatabaseNorTheNetwork()
    {
        var probe = new IoProbe();
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, services: probe.Install);
        var client = app.ClientFor("vet-1", "vet");
        var (commandsBefore, requestsBefore) = (probe.DatabaseCommands, probe.OutgoingRequests);

        for (var i = 0; i < 5; i++)
        {
            await (await client.PostJsonAsync("/api/chat/token", new { userId = "vet-1" })).ShouldBeOkJsonAsync();
        }

        Assert.Equal(commandsBefore, probe.DatabaseCommands);
        Assert.Equal(requestsBefore, probe.OutgoingRequests);

        // The probe does see I/O where there is some.
        await app.ClientFor("vet-1", "vet").GetAsync("/api/appointments/apt-1");
        Assert.True(probe.DatabaseCommands > commandsBefore);
    }
}
