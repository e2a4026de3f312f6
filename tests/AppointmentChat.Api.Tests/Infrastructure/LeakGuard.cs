using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// Watches everything an in-process app tells the world, for the whole test suite: every response a test
/// receives (body and headers) and every log line. A secret (the JWT or Stream secret, the FCM service
/// account's key or access token) must appear in neither; a JWT (a caller's bearer token, a Stream token)
/// must appear in no log line and in no response but the one that minted it (<c>POST /api/chat/token</c>, and in
/// Development the demo page's <c>POST /demo/session</c>, which hands the page a caller's bearer token).
/// A leak fails the request that revealed it, so the test that caused it fails; one found later (a
/// background worker's log line) fails the next request, or the app's disposal.
/// </summary>
public sealed partial class LeakGuard : DelegatingHandler
{
    private readonly string[] _secrets;
    private readonly ConcurrentQueue<string> _leaks = new();

    public LeakGuard(HttpMessageHandler inner, IEnumerable<string?> secrets)
        : base(inner) =>
        _secrets = [.. secrets.OfType<string>().Where(s => s.Length >= 8).Concat(["BEGIN PRIVATE KEY", "fake-access-"]).Distinct()];

    /// <summary>Responses inspected so far, across every client of the app.</summary>
    public int ResponsesInspected => _responses;

    private int _responses;

    public IReadOnlyCollection<string> Leaks => _leaks;

    /// <summary>Checks a log line as it is written (on whatever thread writes it).</summary>
    public void Inspect(LogCapture.LogLine line)
    {
        var text = line.Message + " " + line.Exception;
        if (FindSecret(text) is { } secret)
        {
            _leaks.Enqueue($"a log line holds {secret}: {line}");
        }

        if (Jwt().Match(text) is { Success: true } jwt)
        {
            _leaks.Enqueue($"a log line holds a JWT ({jwt.Value[..20]}…): {line}");
        }
    }

    public void ThrowIfLeaked()
    {
        if (!_leaks.IsEmpty)
        {
            throw new InvalidOperationException("Secret or token leaked: " + string.Join(Environment.NewLine, _leaks));
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Interlocked.Increment(ref _responses);
        var where = $"{request.Method} {request.RequestUri?.AbsolutePath} ({(int)response.StatusCode})";
        var text = body + "\n" + response.Headers + response.Content.Headers;
        if (FindSecret(text) is { } secret)
        {
            _leaks.Enqueue($"the response to {where} holds {secret}");
        }

        var minted = MintedToken(request, response, body);
        foreach (Match jwt in Jwt().Matches(text))
        {
            if (jwt.Value != minted)
            {
                _leaks.Enqueue($"the response to {where} holds a JWT ({jwt.Value[..20]}…)");
            }
        }

        ThrowIfLeaked();
        return response;
    }

    private string? FindSecret(string text) => _secrets.FirstOrDefault(s => text.Contains(s, StringComparison.Ordinal)) is { } found ? $"the secret '{found[..4]}…'" : null;

    /// <summary>The JWT a successful minting call hands out: the one JWT a response may carry.</summary>
    private static string? MintedToken(HttpRequestMessage request, HttpResponseMessage response, string body)
    {
        var field = request.RequestUri?.AbsolutePath switch
        {
            "/api/chat/token" => "token",
            "/demo/session" => "bearer",
            _ => null,
        };
        if (request.Method != HttpMethod.Post || field is null || !response.IsSuccessStatusCode)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(body).RootElement.GetProperty(field).GetString();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A signed JWT: a JSON header and payload (base64url of <c>{"</c> is <c>eyJ</c>) and a signature.</summary>
    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")]
    private static partial Regex Jwt();
}
