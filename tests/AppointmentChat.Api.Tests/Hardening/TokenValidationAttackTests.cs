using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// The attack rows that need the service configured otherwise: RS256/HS256 key confusion against an OIDC
/// issuer (the service trusts RS256 keys from the issuer's JWKS, an attacker signs HS256 with the public key),
/// embedded and unknown keys, and the wrong issuer or audience for an HS256 deployment that names both.
/// </summary>
public sealed class TokenValidationAttackTests(OidcIssuerApp fixture, IssuerAudienceApp issuerAudience)
    : IClassFixture<OidcIssuerApp>, IClassFixture<IssuerAudienceApp>
{
    public static TheoryData<string> OidcRows() => [.. OidcIssuerApp.Forgeries.Keys];

    [Fact]
    public async Task ATokenSignedByTheIssuersKeyIsAcceptedWhichIsWhatTheRowsBelowAreMeasuredAgainst()
    {
        var (app, issuer) = await fixture.StartAsync();

        var response = await app.ClientWithToken(issuer.Sign(issuer.Claims("vet-1"))).PostJsonAsync("/api/chat/token", new { });

        await response.ShouldBeOkJsonAsync();
    }

    [Theory]
    [MemberData(nameof(OidcRows))]
    public async Task AgainstAnOidcIssuerAForgedTokenIsRefusedWith401(string row)
    {
        var (app, issuer) = await fixture.StartAsync();

        var response = await app.ClientWithToken(OidcIssuerApp.Forgeries[row](issuer)).PostJsonAsync("/api/chat/token", new { });

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
    }

    public static TheoryData<string, string?, string?> IssuerAudienceRows() => new()
    {
        { "the wrong issuer", "https://evil.example", "appointment-chat" },
        { "the wrong audience", "https://pms.example", "another-api" },
        { "no issuer", null, "appointment-chat" },
        { "no audience", "https://pms.example", null },
        { "an issuer differing only in case", "https://PMS.example", "appointment-chat" },
    };

    [Theory]
    [MemberData(nameof(IssuerAudienceRows))]
    public async Task WithAnIssuerAndAudienceConfiguredATokenForAnyOtherIsRefusedWith401(string row, string? iss, string? aud)
    {
        var app = await issuerAudience.StartAsync();
        var claims = TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromHours(1));
        claims["iss"] = iss;
        claims["aud"] = aud;
        var right = TestJwt.Claims("vet-1", ["vet"], null, TimeSpan.FromHours(1));
        right["iss"] = "https://pms.example";
        right["aud"] = "appointment-chat";

        var refused = await app.ClientWithToken(TestJwt.Create(claims)).PostJsonAsync("/api/chat/token", new { });
        var accepted = await app.ClientWithToken(TestJwt.Create(right)).PostJsonAsync("/api/chat/token", new { });

        await refused.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        Assert.True(accepted.StatusCode == HttpStatusCode.OK, row);
    }
}

/// <summary>A fake OIDC issuer (discovery document and JWKS on loopback) and the service trusting it.</summary>
public sealed class OidcIssuerApp() : LazyFixture<(ChatApp App, FakeIssuer Issuer)>(DatabaseKind.Sqlite)
{
    private static readonly RSA Attacker = RSA.Create(2048);

    public static readonly Dictionary<string, Func<FakeIssuer, string>> Forgeries = new()
    {
        ["HS256 signed with the issuer's public key as PEM"] = i => Hs256(i.Claims("pms"), Encoding.UTF8.GetBytes(i.Key.ExportSubjectPublicKeyInfoPem()), i.KeyId),
        ["HS256 signed with the issuer's public key as DER"] = i => Hs256(i.Claims("pms"), i.Key.ExportSubjectPublicKeyInfo(), i.KeyId),
        ["HS256 signed with the issuer's modulus"] = i => Hs256(i.Claims("pms"), i.Key.ExportParameters(false).Modulus!, i.KeyId),
        ["HS256 signed with the issuer's JWKS as text"] = i => Hs256(i.Claims("pms"), Encoding.UTF8.GetBytes(i.Jwks.ToJsonString()), i.KeyId),
        ["alg none"] = i => TestJwt.Encode("""{"alg":"none","typ":"JWT"}""") + "." + TestJwt.Encode(i.Claims("pms").ToJsonString()) + ".",
        ["RS256 signed with the attacker's key under the issuer's kid"] = i => Rs256(i.Claims("pms"), Attacker, new JsonObject { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = i.KeyId }),
        ["RS256 with the attacker's key embedded as a jwk header"] = i => Rs256(i.Claims("pms"), Attacker, new JsonObject
        {
            ["alg"] = "RS256",
            ["typ"] = "JWT",
            ["jwk"] = FakeIssuer.Jwk(Attacker, "attacker"),
        }),
        ["RS256 by the issuer's key but for another issuer"] = i =>
        {
            var claims = i.Claims("pms");
            claims["iss"] = "https://evil.example";
            return i.Sign(claims);
        },
        ["RS256 by the issuer's key with an expiry an hour ago"] = i => i.Sign(TestJwt.Claims("pms", ["service"], null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow.AddHours(-1)).Also(c => c["iss"] = i.Issuer)),
        ["PS256 by the attacker's key"] = i =>
        {
            var input = TestJwt.Encode(new JsonObject { ["alg"] = "PS256", ["kid"] = i.KeyId }.ToJsonString()) + "." + TestJwt.Encode(i.Claims("pms").ToJsonString());
            return input + "." + Base64Url.EncodeToString(Attacker.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
        },
    };

    protected override async Task<(ChatApp App, FakeIssuer Issuer)> CreateAsync()
    {
        var issuer = Own(await FakeIssuer.StartAsync());
        var app = Own(await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["JWT_SECRET"] = null,
            ["Auth:Authority"] = issuer.Issuer,
        }));
        return (app, issuer);
    }

    private static string Hs256(JsonObject claims, byte[] key, string kid) =>
        TestJwt.Sign(new JsonObject { ["alg"] = "HS256", ["typ"] = "JWT", ["kid"] = kid }.ToJsonString(), claims.ToJsonString(), key);

    private static string Rs256(JsonObject claims, RSA key, JsonObject header)
    {
        var input = TestJwt.Encode(header.ToJsonString()) + "." + TestJwt.Encode(claims.ToJsonString());
        return input + "." + Base64Url.EncodeToString(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }
}

/// <summary>The service on HS256 tokens that must name both an issuer and an audience.</summary>
public sealed class IssuerAudienceApp() : ChatAppFixture(DatabaseKind.Sqlite)
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Auth:Issuer"] = "https://pms.example",
        ["Auth:Audience"] = "appointment-chat",
    };
}

/// <summary>An OpenID Connect issuer reduced to what a resource server reads: the discovery document and the JWKS.</summary>
public sealed class FakeIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeIssuer(WebApplication app, string issuer)
    {
        _app = app;
        Issuer = issuer;
        Jwks = new JsonObject { ["keys"] = new JsonArray(Jwk(Key, KeyId)) };
    }

    public string Issuer { get; }

    public RSA Key { get; } = RSA.Create(2048);

    public string KeyId { get; } = "issuer-key-1";

    public JsonObject Jwks { get; }

    public static async Task<FakeIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeIssuer? issuer = null;
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new JsonObject
        {
            ["issuer"] = issuer!.Issuer,
            ["jwks_uri"] = issuer.Issuer + "/jwks",
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
        }));
        app.MapGet("/jwks", () => Results.Text(issuer!.Jwks.ToJsonString(), "application/json"));
        await app.StartAsync();
        issuer = new FakeIssuer(app, app.Urls.First().TrimEnd('/'));
        return issuer;
    }

    public JsonObject Claims(string userId)
    {
        var claims = TestJwt.Claims(userId, ["service"], null, TimeSpan.FromHours(1));
        claims["iss"] = Issuer;
        return claims;
    }

    public string Sign(JsonObject claims)
    {
        var input = TestJwt.Encode(new JsonObject { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = KeyId }.ToJsonString()) + "." + TestJwt.Encode(claims.ToJsonString());
        return input + "." + Base64Url.EncodeToString(Key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    public static JsonObject Jwk(RSA key, string kid)
    {
        var parameters = key.ExportParameters(false);
        return new JsonObject
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["kid"] = kid,
            ["n"] = Base64Url.EncodeToString(parameters.Modulus!),
            ["e"] = Base64Url.EncodeToString(parameters.Exponent!),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Key.Dispose();
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject value, Action<JsonObject> change)
    {
        change(value);
        return value;
    }
}
