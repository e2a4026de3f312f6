using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace AppointmentChat.Api.Infrastructure;

internal static class ProblemDetailsSetup
{
    /// <summary>
    /// Every error leaves the service as <c>application/problem+json</c> with a sentence in <c>detail</c>, a stable
    /// <c>code</c> and a short <c>error</c> (<see cref="ApiProblem"/>): handler results, authentication challenges,
    /// status-code-only responses and exceptions alike.
    /// </summary>
    public static IHostApplicationBuilder AddApiProblemDetails(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var status = context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode;
            context.ProblemDetails.Detail ??= DefaultDetail(status);
            context.ProblemDetails.Extensions.Remove("exception");
            if (!context.ProblemDetails.Extensions.ContainsKey(ApiProblem.CodeMember))
            {
                ApiProblem.ForStatus(status).Stamp(context.ProblemDetails);
            }
        });
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();

        // Binding failures (bad JSON, wrong content type) throw so that ProblemExceptionHandler can name the problem.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return builder;
    }

    public static string DefaultDetail(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "The request is not valid.",
        StatusCodes.Status401Unauthorized => "A valid bearer token is required.",
        StatusCodes.Status403Forbidden => "You are not allowed to do this.",
        StatusCodes.Status404NotFound => "Nothing was found at this address.",
        StatusCodes.Status405MethodNotAllowed => "This address does not accept that HTTP method.",
        StatusCodes.Status409Conflict => "The request conflicts with the current state.",
        StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
        StatusCodes.Status415UnsupportedMediaType => "The request body must be JSON (Content-Type: application/json).",
        StatusCodes.Status429TooManyRequests => "Too many requests; retry later.",
        StatusCodes.Status502BadGateway => "The chat provider refused the request.",
        StatusCodes.Status503ServiceUnavailable => "The service is temporarily unavailable; retry later.",
        >= 500 => "An unexpected error occurred.",
        _ => "The request could not be completed.",
    };
}

/// <summary>Turns exceptions that reach the top of the pipeline into ProblemDetails.</summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problemDetails, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            BadHttpRequestException bad => FromBadRequest(bad),
            IProblemException mapped => mapped.ToProblem(),
            _ when IsTransientDatabaseFailure(exception) => Unavailable(httpContext, logger, exception),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => null,
            _ => null,
        };

        if (problem is null)
        {
            if (httpContext.RequestAborted.IsCancellationRequested)
            {
                return true; // the caller left; nobody to answer
            }

            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
            problem = new ProblemDetails { Status = StatusCodes.Status500InternalServerError };
        }

        httpContext.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        if (exception is IProblemException { RetryAfter: { } retryAfter })
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    /// <summary>The database refused or dropped a connection, or is overloaded: worth a retry, not a 500.</summary>
    private static bool IsTransientDatabaseFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is System.Data.Common.DbException { IsTransient: true } or TimeoutException)
            {
                return true;
            }
        }

        return false;
    }

    private static ProblemDetails Unavailable(HttpContext httpContext, ILogger logger, Exception exception)
    {
        LogDatabaseUnavailable(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        httpContext.Response.Headers.RetryAfter = "1";
        return ApiProblem.ServiceUnavailable.Details("The database is busy or unreachable; retry shortly.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database unavailable for {Method} {Path}")]
    private static partial void LogDatabaseUnavailable(ILogger logger, Exception exception, string method, PathString path);

    private static ProblemDetails FromBadRequest(BadHttpRequestException exception)
    {
        var problem = new ProblemDetails { Status = exception.StatusCode };
        if (exception.InnerException is JsonException json)
        {
            var (field, reason) = Describe(json);
            problem.Detail = field is null
                ? $"The request body is not valid JSON: {reason}"
                : $"The request body is not valid: '{field}' {reason}";
            if (field is not null)
            {
                problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [reason] };
            }
        }
        else if (exception.StatusCode == StatusCodes.Status400BadRequest
            && (exception.Message.Contains("no body was provided", StringComparison.Ordinal) || exception.Message.Contains("was not provided from body", StringComparison.Ordinal)))
        {
            // An empty body, or the JSON literal null.
            problem.Detail = "A JSON request body is required.";
        }
        else if (exception.StatusCode == StatusCodes.Status400BadRequest && exception.Message.StartsWith("Failed to bind parameter", StringComparison.Ordinal))
        {
            // Failed to bind parameter "int? limit" from "abc".
            var name = exception.Message.Split('"') is [_, var declaration, ..] ? declaration.Split(' ')[^1] : null;
            problem.Detail = name is null ? "A route or query parameter has an invalid value." : $"The parameter '{name}' has an invalid value.";
            if (name is not null)
            {
                problem.Extensions["errors"] = new Dictionary<string, string[]> { [name] = ["has an invalid value."] };
            }
        }

        return problem;
    }

    /// <summary>
    /// Names the offending field in words an API caller understands, without echoing .NET type names.
    /// </summary>
    internal static (string? Field, string Reason) Describe(JsonException exception)
    {
        var field = FieldFromPath(exception.Path);
        var message = exception.Message;
        const string unmapped = "The JSON property '";
        if (message.StartsWith(unmapped, StringComparison.Ordinal))
        {
            var end = message.IndexOf('\'', unmapped.Length);
            var name = end > unmapped.Length ? message[unmapped.Length..end] : null;
            var named = field is not null && name is not null && (field == name || field.EndsWith("." + name, StringComparison.Ordinal));
            return (named ? field : JoinField(field, name), "is not a field this endpoint accepts.");
        }

        if (message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return (field, "is given more than once.");
        }

        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return (field, "has the wrong type.");
        }

        if (exception.InnerException is null && exception.Path is not null && !message.Contains("LineNumber", StringComparison.Ordinal))
        {
            // Our own converters throw with a message meant for callers.
            return (field, char.ToLowerInvariant(message[0]) + message[1..]);
        }

        return field is null
            ? (null, "the JSON is malformed or truncated.")
            : (field, "is malformed or truncated JSON.");
    }

    private static string? JoinField(string? parent, string? child) =>
        string.IsNullOrEmpty(parent) ? child : child is null ? parent : $"{parent}.{child}";

    private static string? FieldFromPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return null;
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, PathString path);
}

/// <summary>An exception that knows the ProblemDetails the caller should see (e.g. a failed Stream call).</summary>
internal interface IProblemException
{
    TimeSpan? RetryAfter { get; }

    ProblemDetails ToProblem();
}
