using System.Security.Cryptography;
using System.Text;
using AppointmentChat.Api.Stream;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks;

/// <summary>
/// Stream signs each webhook with <c>X-Signature</c>: the hex HMAC-SHA256 of the raw (uncompressed)
/// body with the API secret. Checked over the bytes received — never a re-serialisation — in constant time.
/// </summary>
internal sealed class WebhookSignature(IOptions<StreamOptions> options)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(options.Value.ApiSecret ?? "");

    public bool IsValid(ReadOnlySpan<byte> body, string? signature)
    {
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Span<byte> presented = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (signature is null
            || signature.Length != HMACSHA256.HashSizeInBytes * 2
            || Convert.FromHexString(signature, presented, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != presented.Length)
        {
            return false;
        }

        HMACSHA256.HashData(_key, body, expected);
        return CryptographicOperations.FixedTimeEquals(expected, presented);
    }
}
