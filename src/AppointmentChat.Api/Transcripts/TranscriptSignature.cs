using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AppointmentChat.Api.Transcripts;

/// <summary>
/// How a callback proves it comes from this service and is fresh: <c>X-AppointmentChat-Signature: sha256=&lt;hex&gt;</c>,
/// the lowercase hex HMAC-SHA256, keyed with the organisation's secret, of the timestamp (<c>X-AppointmentChat-Timestamp</c>,
/// Unix seconds), a full stop, and the raw body bytes. The timestamp is signed so that a captured delivery cannot be
/// replayed later: the PMS refuses one older than a few minutes (docs/transcripts.md).
/// </summary>
internal static class TranscriptSignature
{
    public const string SignatureHeader = "X-AppointmentChat-Signature";
    public const string TimestampHeader = "X-AppointmentChat-Timestamp";

    /// <summary>The callback's id, the same on every attempt, so the PMS files a transcript once however often it arrives.</summary>
    public const string DeliveryHeader = "X-AppointmentChat-Delivery";

    public const string EventHeader = "X-AppointmentChat-Event";
    public const string Event = "chat.transcript";

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }
}

/// <summary>POSTs a signed transcript to a PMS; never retries by itself (the outbox does, with backoff).</summary>
internal sealed class TranscriptCallbackClient(HttpClient http, TimeProvider time)
{
    /// <summary>Null when the PMS took it (2xx); else why not.</summary>
    public async Task<string?> DeliverAsync(Uri url, string secret, long deliveryId, byte[] body, CancellationToken cancellationToken)
    {
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(TranscriptSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(TranscriptSignature.SignatureHeader, TranscriptSignature.Sign(secret, timestamp, body));
        request.Headers.Add(TranscriptSignature.DeliveryHeader, deliveryId.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(TranscriptSignature.EventHeader, TranscriptSignature.Event);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return response.IsSuccessStatusCode ? null : $"the PMS answered {(int)response.StatusCode}";
    }
}
