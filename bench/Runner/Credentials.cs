using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace AppointmentChat.Bench;

/// <summary>Real credentials for the load: callers' HS256 JWTs and Stream's webhook signatures.</summary>
internal static class Credentials
{
    public const string JwtSecret = "benchmark-caller-jwt-secret-0123456789-abcdefgh";
    public const string StreamKey = "bench-key";
    public const string StreamSecret = "benchmark-stream-secret-0123456789-abcdefgh";

    public static string Jwt(string userId, string role, string? org = null)
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new JsonObject { ["sub"] = userId, ["role"] = role, ["iat"] = now.ToUnixTimeSeconds(), ["exp"] = now.AddHours(6).ToUnixTimeSeconds() };
        if (org is not null)
        {
            claims["org"] = org;
        }

        return Sign("""{"alg":"HS256","typ":"JWT"}""", claims.ToJsonString(), Encoding.UTF8.GetBytes(JwtSecret));
    }

    public static string ServerToken() => Sign("""{"alg":"HS256","typ":"JWT"}""", """{"server":true}""", Encoding.UTF8.GetBytes(StreamSecret));

    public static string WebhookSignature(string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(StreamSecret), Encoding.UTF8.GetBytes(body)));

    private static string Sign(string header, string payload, byte[] key)
    {
        var input = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header)) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload));
        return input + "." + Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(input)));
    }
}
