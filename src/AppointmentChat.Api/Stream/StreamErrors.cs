using System.Globalization;
using System.Net;
using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Mvc;

namespace AppointmentChat.Api.Stream;

/// <summary>
/// Stream answered with an error. Stream's 4xx (other than 429) become 502 with Stream's message;
/// 429 and 5xx (after retries) become 503 with <c>Retry-After</c> when Stream said when.
/// </summary>
internal sealed class StreamApiException(string operation, HttpStatusCode status, int code, string streamMessage, TimeSpan? retryAfter)
    : Exception($"Stream {operation} failed: {(int)status} code {code}: {streamMessage}"), IProblemException
{
    /// <summary>Stream's code for "a message with ID … already exists".</summary>
    public const int InputErrorCode = 4;

    public string Operation { get; } = operation;

    public HttpStatusCode Status { get; } = status;

    public int Code { get; } = code;

    public string StreamMessage { get; } = streamMessage;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public bool IsRateLimited => Status == HttpStatusCode.TooManyRequests;

    public bool IsDuplicateMessage =>
        Status == HttpStatusCode.BadRequest && Code == InputErrorCode && StreamMessage.Contains("already exists", StringComparison.Ordinal);

    public bool IsNotFound => Status == HttpStatusCode.NotFound;

    /// <summary>Stream's code for "does not exist".</summary>
    public const int DoesNotExistCode = 16;

    /// <summary>
    /// A refusal that a missing user could explain: Stream answers an input error (code 4) when a channel's members or a
    /// message's author do not exist, and "does not exist" (16) for other missing things. The caller checks by looking
    /// the users up, never by the message's wording.
    /// </summary>
    public bool MayBeMissingUser => (int)Status is 400 or 404 && Code is InputErrorCode or DoesNotExistCode;

    public ProblemDetails ToProblem() => (int)Status switch
    {
        429 => StreamProblems.RateLimited.Details(RetryAfter is { } wait
            ? $"The chat provider is rate limiting this service; retry in {Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} s."
            : "The chat provider is rate limiting this service; retry later."),
        >= 500 => StreamProblems.Unavailable.Details("The chat provider is unavailable right now; retry later."),
        _ => StreamProblems.Refused.Details($"The chat provider refused the request ({Operation}): {StreamMessage}"),
    };

    /// <summary>Reads Stream's error body (or, for an edge error that is not JSON, its text).</summary>
    public static async Task<StreamApiException> FromResponseAsync(string operation, HttpResponseMessage response, TimeProvider time, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        StreamErrorBody? body = null;
        try
        {
            body = System.Text.Json.JsonSerializer.Deserialize(text, StreamJsonContext.Default.StreamErrorBody);
        }
        catch (System.Text.Json.JsonException)
        {
            // Stream's edge answers some errors (IP rate limits) in plain text.
        }

        var message = body?.Message ?? (text.Length > 300 ? text[..300] : text);
        return new StreamApiException(operation, response.StatusCode, body?.Code ?? -1, message, RetryAfterFrom(response, time));
    }

    /// <summary><c>Retry-After</c> (seconds or a date), else for a 429 the <c>X-RateLimit-Reset</c> time.</summary>
    public static TimeSpan? RetryAfterFrom(HttpResponseMessage response, TimeProvider time)
    {
        var now = time.GetUtcNow();
        if (response.Headers.RetryAfter is { } retryAfter)
        {
            var wait = retryAfter.Delta ?? (retryAfter.Date - now);
            if (wait is { } value)
            {
                return value < TimeSpan.Zero ? TimeSpan.Zero : value;
            }
        }

        if (response.StatusCode == HttpStatusCode.TooManyRequests
            && response.Headers.TryGetValues("X-RateLimit-Reset", out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var reset))
        {
            var wait = DateTimeOffset.FromUnixTimeSeconds(reset) - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}

/// <summary>Stream could not be reached or did not answer in time (after retries): 503.</summary>
internal sealed class StreamUnavailableException(string operation, Exception inner)
    : Exception($"Stream {operation} did not complete: {inner.Message}", inner), IProblemException
{
    public string Operation { get; } = operation;

    public TimeSpan? RetryAfter => null;

    public ProblemDetails ToProblem() => StreamProblems.Unavailable.Details("The chat provider did not answer in time; retry later.");
}

/// <summary>What a caller is told when Stream refused or could not be reached (docs/api.md, "Problem codes").</summary>
internal static class StreamProblems
{
    /// <summary>Stream refused the request (a 4xx other than 429): retrying the same request will not help.</summary>
    public static readonly ApiProblem Refused = new("stream-refused", StatusCodes.Status502BadGateway, "The chat provider refused the request");

    /// <summary>Stream is rate limiting this service: retry after <c>Retry-After</c>.</summary>
    public static readonly ApiProblem RateLimited = new("stream-rate-limited", StatusCodes.Status503ServiceUnavailable, "The chat provider is busy; retry later");

    /// <summary>Stream failed (5xx) or did not answer in time, after retries.</summary>
    public static readonly ApiProblem Unavailable = new("stream-unavailable", StatusCodes.Status503ServiceUnavailable, "The chat provider is unavailable; retry later");
}
