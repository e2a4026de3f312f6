using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace AppointmentChat.Api.Stream;

/// <summary>
/// Retry rules for Stream calls: a call is repeated only when repeating it cannot do harm — it is
/// idempotent, or Stream cannot have applied it (a 429, a connection never made). Waits honour
/// <c>Retry-After</c> and <c>X-RateLimit-Reset</c>, within a bounded total time.
/// </summary>
internal static class StreamResilience
{
    public static readonly HttpRequestOptionsKey<bool> Idempotent = new("stream.idempotent");

    /// <summary>A 429 or 5xx whose Retry-After (or a 429's reset) is further away than this is not waited for: the caller gets 503 with Retry-After.</summary>
    public static readonly TimeSpan MaxRetryWait = TimeSpan.FromSeconds(5);

    public static void Configure(HttpStandardResilienceOptions resilience, StreamOptions stream, TimeProvider time)
    {
        resilience.AttemptTimeout.Timeout = stream.AttemptTimeout;
        resilience.TotalRequestTimeout.Timeout = stream.TotalTimeout;
        resilience.CircuitBreaker.SamplingDuration = Max(TimeSpan.FromSeconds(30), stream.AttemptTimeout * 2);

        // A 429 is Stream pacing one endpoint (its limits count per endpoint and per app: stream-chat-go
        // docs/debugging_and_cli/rate_limits.md), not Stream failing. The standard breaker counts it as a failure
        // (HttpClientResiliencePredicates.IsTransient), so one busy endpoint could cut off every Stream call; here it
        // counts only what says Stream is unwell: 5xx, 408, timeouts, connections that fail.
        resilience.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(
            args.Outcome.Result?.StatusCode != HttpStatusCode.TooManyRequests && HttpClientResiliencePredicates.IsTransient(args.Outcome));

        var retry = resilience.Retry;
        retry.MaxRetryAttempts = Math.Max(1, stream.MaxRetries); // Polly needs at least 1; MaxRetries = 0 is honoured in ShouldHandle
        retry.Delay = stream.RetryBaseDelay;
        retry.BackoffType = DelayBackoffType.Exponential;
        retry.UseJitter = true;
        retry.ShouldRetryAfterHeader = false; // our DelayGenerator reads Retry-After and X-RateLimit-Reset
        retry.ShouldHandle = args => ValueTask.FromResult(
            stream.MaxRetries > 0 && ShouldRetry(args.Outcome, args.Context.GetRequestMessage(), time));
        retry.DelayGenerator = args => ValueTask.FromResult(
            args.Outcome.Result is { } response ? StreamApiException.RetryAfterFrom(response, time) : null);
    }

    internal static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, HttpRequestMessage? request, TimeProvider time)
    {
        var idempotent = request is not null && request.Options.TryGetValue(Idempotent, out var flag) && flag;
        if (outcome.Result is { } response)
        {
            // Stream said when to come back, and it is further off than a caller should wait: no retry, so the caller
            // hears 503 with that Retry-After at once instead of a bare 503 once the whole budget is spent waiting.
            if (StreamApiException.RetryAfterFrom(response, time) > MaxRetryWait)
            {
                return false;
            }

            return response.StatusCode switch
            {
                // Stream did not apply a rate-limited call.
                HttpStatusCode.TooManyRequests => true,
                HttpStatusCode.RequestTimeout => idempotent,
                >= HttpStatusCode.InternalServerError => idempotent,
                _ => false,
            };
        }

        return outcome.Exception switch
        {
            // The connection was never made, so the request was never sent.
            HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => true,
            HttpRequestException or TimeoutRejectedException => idempotent,
            _ => false,
        };
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
