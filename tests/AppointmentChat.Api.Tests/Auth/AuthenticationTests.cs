using System.Net;
using System.Security.Claims;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Tests.Auth;

/// <summary>Every way a caller's bearer JWT can be wrong gets 401 ProblemDetails, and nothing else.</summary>
public sealed class AuthenticationTests(SqliteApp fixture) : IClassFixture<SqliteApp>
{
    public static TheoryData<string, string?> BadBearers()
    {
        var now = DateTimeOffset.UtcNow;
        var good = TestJwt.For("vet-1", "vet");
        var parts = good.Split('.');
        var tamperedPayload = TestJwt.Claims("admin-1", ["admin"], "clinic-1", TimeSpan.FromHours(1));
        return new TheoryData<string, string?>
        {
            { "missing", null },
            { "expired", TestJwt.Create(TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromMinutes(10), now.AddHours(-2))) },
            { "not yet valid", TestJwt.Create(NotBefore(now.AddHours(1))) },
            { "wrong key", TestJwt.Create(TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromHours(1)), secret: "some-other-secret-that-is-long-enough-1234") },
            { "alg none", TestJwt.Encode("""{"alg":"none","typ":"JWT"}""") + "." + parts[1] + "." },
            { "alg none with signature", TestJwt.Encode("""{"alg":"none","typ":"JWT"}""") + "." + parts[1] + "." + parts[2] },
            { "RS256 header over an HMAC signature", TestJwt.Create(TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromHours(1)), alg: "RS256") },
            { "tampered payload", parts[0] + "." + TestJwt.Encode(tamperedPayload.ToJsonString()) + "." + parts[2] },
            { "truncated signature", good[..^5] },
            { "missing sub", TestJwt.Create(TestJwt.Claims(null, ["vet"], null, TimeSpan.FromHours(1))) },
            { "empty sub", TestJwt.Create(TestJwt.Claims("", ["vet"], null, TimeSpan.FromHours(1))) },
            { "no expiry", TestJwt.Create(new JsonObject { ["sub"] = "vet-1", ["role"] = "vet" }) },
            { "garbage", "not-a-jwt" },
        };

        static JsonObject NotBefore(DateTimeOffset nbf)
        {
            var claims = TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromHours(3));
            claims["nbf"] = nbf.ToUnixTimeSeconds();
            return claims;
        }
    }

    [Theory]
    [MemberData(nameof(BadBearers))]
    public async Task ARequestWithABadBearerTokenGets401ProblemDetails(string why, string? bearer)
    {
        var app = await fixture.StartAsync();

        var response = await app.ClientWithToken(bearer).PostJsonAsync("/api/chat/token", new { });

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        Assert.True(response.Headers.WwwAuthenticate.Count > 0, why);
        Assert.DoesNotContain("eyJ", problem.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExpiredTokenIsNamedAsExpiredSoTheAppKnowsToRefresh()
    {
        var app = await fixture.StartAsync();
        var expired = TestJwt.Create(TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow.AddHours(-2)));

        var response = await app.ClientWithToken(expired).PostJsonAsync("/api/chat/token", new { });

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("expired", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABasicAuthorizationHeaderIsNotABearerToken()
    {
        var app = await fixture.StartAsync();
        var client = app.AnonymousClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "dmV0LTE6cGFzcw==");

        var response = await client.PostJsonAsync("/api/chat/token", new { });

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task UnknownAddressesAnswer404ProblemDetails()
    {
        var app = await fixture.StartAsync();

        var response = await app.ClientFor("vet-1", "vet").GetAsync("/api/nothing-here");

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}

public sealed class ClaimMappingTests
{
    [Fact]
    public async Task IssuerAndAudienceAreValidatedWhenConfigured()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["Auth:Issuer"] = "https://pms.example",
            ["Auth:Audience"] = "appointment-chat",
        });

        JsonObject Claims(string? iss, string? aud)
        {
            var claims = TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromHours(1));
            if (iss is not null)
            {
                claims["iss"] = iss;
            }

            if (aud is not null)
            {
                claims["aud"] = aud;
            }

            return claims;
        }

        async Task<HttpStatusCode> Call(JsonObject claims) =>
            (await app.ClientWithToken(TestJwt.Create(claims)).PostJsonAsync("/api/chat/token", new { })).StatusCode;

        Assert.Equal(HttpStatusCode.OK, await Call(Claims("https://pms.example", "appointment-chat")));
        Assert.Equal(HttpStatusCode.Unauthorized, await Call(Claims("https://evil.example", "appointment-chat")));
        Assert.Equal(HttpStatusCode.Unauthorized, await Call(Claims("https://pms.example", "other-api")));
        Assert.Equal(HttpStatusCode.Unauthorized, await Call(Claims(null, null)));
    }

    [Fact]
    public async Task UserIdAndRolesComeFromTheConfiguredClaimsSuchAsCognitoGroups()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["Auth:UserIdClaim"] = "username",
            ["Auth:RoleClaim"] = "cognito:groups",
            ["Auth:OrganisationClaim"] = "custom:org",
        });
        var claims = new JsonObject
        {
            ["sub"] = "ignored-subject",
            ["username"] = "pms-backend",
            ["cognito:groups"] = new JsonArray("service", "something-else"),
            ["custom:org"] = "clinic-1",
            ["exp"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(),
        };
        var client = app.ClientWithToken(TestJwt.Create(claims));

        // The service role (from the groups array) may push appointments...
        var put = await client.PutAsync("/api/appointments/" + Ids.New("apt"), System.Net.Http.Json.JsonContent.Create(new
        {
            petOwnerId = "owner-1",
            vetId = "vet-1",
            organisationId = "clinic-1",
            startsAt = "2030-01-15T14:00:00Z",
            durationMinutes = 30,
        }));
        await put.ShouldBeOkJsonAsync(HttpStatusCode.Created);

        // ...and the user id is the configured claim, not sub.
        var token = await (await client.PostJsonAsync("/api/chat/token", new { userId = "pms-backend" })).ShouldBeOkJsonAsync();
        Assert.Equal("pms-backend", TestJwt.DecodePart(token.GetProperty("token").GetString()!, 1).GetProperty("user_id").GetString());
    }

    [Fact]
    public async Task ARoleTheServiceDoesNotKnowGrantsNothing()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite);

        var response = await app.ClientFor("root", "superuser").PutAsync("/api/appointments/" + Ids.New("apt"), System.Net.Http.Json.JsonContent.Create(new
        {
            petOwnerId = "owner-1",
            vetId = "vet-1",
            organisationId = "clinic-1",
            startsAt = "2030-01-15T14:00:00Z",
            durationMinutes = 30,
        }));

        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task TheCallerReadAtAuthenticationIsReusedOnlyForThePrincipalItWasReadFrom()
    {
        var services = new ServiceCollection().AddSingleton(Options.Create(new AuthOptions())).BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = services };
        var authenticated = Principal(("sub", "vet-1"), ("role", "vet"));
        var remembered = CurrentUser.From(authenticated, new AuthOptions())!;
        CurrentUser.Remember(http, authenticated, remembered);

        http.User = authenticated;
        Assert.Same(remembered, await CurrentUser.BindAsync(http, null!));

        // Something replaced the principal after authentication: the caller is whoever it now says.
        http.User = Principal(("sub", "owner-1"), ("role", "pet-owner"));
        var replaced = await CurrentUser.BindAsync(http, null!);
        Assert.Equal("owner-1", replaced!.Id);
        Assert.Equal([Roles.PetOwner], replaced.Roles);

        static ClaimsPrincipal Principal(params (string Type, string Value)[] claims) =>
            new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "Bearer"));
    }
}
