using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// Builds caller JWTs by hand (header, payload, HMAC), independently of the service's own code,
/// so tests can also forge the broken and hostile ones.
/// </summary>
public static class TestJwt
{
    public const string Secret = "integration-tests-caller-secret-0123456789";

    public static string For(string userId, string? role = null, string? org = null, TimeSpan? lifetime = null) =>
        Create(Claims(userId, role is null ? [] : [role], org, lifetime ?? TimeSpan.FromHours(1)));

    public static JsonObject Claims(string? userId, string[] roles, string? org, TimeSpan lifetime, DateTimeOffset? now = null)
    {
        var issued = now ?? DateTimeOffset.UtcNow;
        var claims = new JsonObject
        {
            ["iat"] = issued.ToUnixTimeSeconds(),
            ["nbf"] = issued.ToUnixTimeSeconds(),
            ["exp"] = (issued + lifetime).ToUnixTimeSeconds(),
        };
        if (userId is not null)
        {
            claims["sub"] = userId;
        }

        if (roles.Length == 1)
        {
            claims["role"] = roles[0];
        }
        else if (roles.Length > 1)
        {
            claims["role"] = new JsonArray([.. roles.Select(r => JsonValue.Create(r))]);
        }

        if (org is not null)
        {
            claims["org"] = org;
        }

        return claims;
    }

    public static string Create(JsonObject claims, string secret = Secret, string alg = "HS256")
    {
        var header = new JsonObject { ["alg"] = alg, ["typ"] = "JWT" };
        return Sign(header.ToJsonString(), claims.ToJsonString(), Encoding.UTF8.GetBytes(secret));
    }

    public static string Sign(string headerJson, string payloadJson, byte[] key)
    {
        var signingInput = Encode(headerJson) + "." + Encode(payloadJson);
        var signature = HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    public static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public static JsonElement DecodePart(string token, int index) =>
        JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[index])).RootElement.Clone();
}
