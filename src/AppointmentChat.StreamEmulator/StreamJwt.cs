using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AppointmentChat.StreamEmulator;

/// <summary>Who presented a token: the server (<c>{"server":true}</c>) or a user (<c>{"user_id":…}</c>).</summary>
/// <param name="ExpiresAt">The token's <c>exp</c>, if any: a client connection is closed when it passes.</param>
public sealed record StreamCaller(bool IsServer, string? UserId, DateTimeOffset? IssuedAt, DateTimeOffset? ExpiresAt = null)
{
    public static readonly StreamCaller Server = new(true, null, null);
}

/// <summary>Verifies the HS256 JWTs Stream accepts, with Stream's error codes for each failure.</summary>
public static class StreamJwt
{
    /// <summary>
    /// Clock skew allowed on <c>exp</c> and <c>nbf</c>. None on <c>iat</c>: Stream documents none, refuses a token issued
    /// after its own now with code 42 (stream-chat-go docs/debugging_and_cli/api_errors_response.md; users meet it with
    /// iat = now, GetStream/stream-chat-net#209), so the emulator is as strict.
    /// </summary>
    public static readonly TimeSpan Leeway = TimeSpan.FromSeconds(5);

    public const string RevokedMessage = "JWTAuth error: token has been revoked";

    /// <param name="revokedBefore">A user's <c>revoke_tokens_issued_before</c>, if any.</param>
    public static StreamCaller Verify(string? token, string secret, DateTimeOffset now, Func<string, DateTimeOffset?> revokedBefore)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw Unauthorized(StreamCodes.Authentication, "JWTAuth error: missing authorization header");
        }

        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            throw Unauthorized(StreamCodes.Authentication, "JWTAuth error: token contains an invalid number of segments");
        }

        JsonElement header, payload;
        byte[] signature;
        try
        {
            header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement;
            payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement;
            signature = Base64Url.DecodeFromChars(parts[2]);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            throw Unauthorized(StreamCodes.Authentication, "JWTAuth error: token is malformed");
        }

        if (header.ValueKind != JsonValueKind.Object || !header.TryGetProperty("alg", out var alg) || alg.GetString() != "HS256")
        {
            throw Unauthorized(StreamCodes.TokenSignatureInvalid, "JWTAuth error: signing method is not HS256");
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
        if (!CryptographicOperations.FixedTimeEquals(expected, signature))
        {
            throw Unauthorized(StreamCodes.TokenSignatureInvalid, "JWTAuth error: signature is not valid. Make sure the token is created using the secret for this API key");
        }

        if (payload.ValueKind != JsonValueKind.Object)
        {
            throw Unauthorized(StreamCodes.Authentication, "JWTAuth error: token payload is not an object");
        }

        var expiresAt = Seconds(payload, "exp");
        if (expiresAt is { } exp && exp + Leeway < now)
        {
            throw Unauthorized(StreamCodes.TokenExpired, "JWTAuth error: token has expired");
        }

        if (Seconds(payload, "nbf") is { } nbf && nbf - Leeway > now)
        {
            throw Unauthorized(StreamCodes.TokenNotValidYet, "JWTAuth error: token is not valid yet");
        }

        var issuedAt = Seconds(payload, "iat");
        if (issuedAt is { } iat && iat > now)
        {
            throw Unauthorized(StreamCodes.TokenBeforeIssuedAt, "JWTAuth error: token used before issue at (iat)");
        }

        if (payload.TryGetProperty("server", out var server) && server.ValueKind == JsonValueKind.True)
        {
            return StreamCaller.Server;
        }

        if (!payload.TryGetProperty("user_id", out var userId) || userId.ValueKind != JsonValueKind.String || userId.GetString() is not { Length: > 0 } id)
        {
            throw Unauthorized(StreamCodes.Authentication, "JWTAuth error: token has neither user_id nor server claim");
        }

        if (IsRevoked(issuedAt, revokedBefore(id)))
        {
            throw Unauthorized(StreamCodes.TokenExpired, RevokedMessage);
        }

        return new StreamCaller(false, id, issuedAt, expiresAt);
    }

    /// <summary>
    /// Whether a user token issued at <paramref name="issuedAt"/> falls under the user's
    /// <c>revoke_tokens_issued_before</c>. Without <c>iat</c> a token cannot be shown to predate a
    /// revocation, so Stream treats it as revoked. Stream's docs say "issued before" and nothing of a token issued in the
    /// very second: the emulator takes the stricter reading and revokes that one too.
    /// </summary>
    public static bool IsRevoked(DateTimeOffset? issuedAt, DateTimeOffset? revokedBefore) =>
        revokedBefore is { } revoked && (issuedAt is null || issuedAt <= revoked);

    private static DateTimeOffset? Seconds(JsonElement payload, string name) =>
        payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    private static StreamErrorException Unauthorized(int code, string message) => new(401, code, message);
}
