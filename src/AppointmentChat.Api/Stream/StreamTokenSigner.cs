using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Stream;

/// <summary>
/// Signs the HS256 JWTs Stream accepts: user tokens (<c>user_id</c>, <c>iat</c>, <c>exp</c>) for the apps,
/// and the server token (<c>{"server":true}</c>) for our own REST calls. Pure CPU: no I/O, no locks.
/// </summary>
internal sealed class StreamTokenSigner
{
    // base64url of {"alg":"HS256","typ":"JWT"}, the header Stream's SDKs send.
    private static readonly byte[] EncodedHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"u8.ToArray();

    private readonly byte[] _key;

    public StreamTokenSigner(IOptions<StreamOptions> options)
        : this(options.Value.ApiSecret ?? throw new InvalidOperationException("STREAM_API_SECRET is not set."))
    {
    }

    public StreamTokenSigner(string secret)
    {
        _key = Encoding.UTF8.GetBytes(secret);
        ServerToken = Sign("{\"server\":true}"u8);
    }

    /// <summary>The token for server-side calls; it has no expiry, as in Stream's official SDKs.</summary>
    public string ServerToken { get; }

    public string CreateUserToken(string userId, DateTimeOffset issuedAt, DateTimeOffset expiresAt)
    {
        var payload = new ArrayBufferWriter<byte>(64 + userId.Length);
        using (var json = new Utf8JsonWriter(payload))
        {
            json.WriteStartObject();
            json.WriteString("user_id"u8, userId);
            json.WriteNumber("iat"u8, issuedAt.ToUnixTimeSeconds());
            json.WriteNumber("exp"u8, expiresAt.ToUnixTimeSeconds());
            json.WriteEndObject();
        }

        return Sign(payload.WrittenSpan);
    }

    private string Sign(ReadOnlySpan<byte> payloadJson)
    {
        var payloadLength = Base64Url.GetEncodedLength(payloadJson.Length);
        var signatureLength = Base64Url.GetEncodedLength(HMACSHA256.HashSizeInBytes);
        var total = EncodedHeader.Length + 1 + payloadLength + 1 + signatureLength;

        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var span = buffer.AsSpan(0, total);
            EncodedHeader.CopyTo(span);
            span[EncodedHeader.Length] = (byte)'.';
            Base64Url.EncodeToUtf8(payloadJson, span.Slice(EncodedHeader.Length + 1, payloadLength));
            var signingInputLength = EncodedHeader.Length + 1 + payloadLength;
            span[signingInputLength] = (byte)'.';

            Span<byte> signature = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_key, span[..signingInputLength], signature);
            Base64Url.EncodeToUtf8(signature, span[(signingInputLength + 1)..]);
            return Encoding.ASCII.GetString(span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
