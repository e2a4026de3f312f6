using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// A kind of problem the API answers: the stable <see cref="Code"/> apps branch on (never the English in
/// <c>detail</c>), its HTTP status, and the short message written as <c>error</c> for code written against the
/// guide, whose responses are <c>{ error: '…' }</c>. Every ProblemDetails the service writes carries both members:
/// the specific kind where a handler names one, else the general kind for its status. Features declare their own
/// kinds next to the code that answers them; docs/api.md lists them all in one table (a test keeps it true).
/// </summary>
internal sealed record ApiProblem(string Code, int Status, string Error)
{
    public const string CodeMember = "code";
    public const string ErrorMember = "error";

    public static readonly ApiProblem InvalidRequest = new("invalid-request", StatusCodes.Status400BadRequest, "Invalid request");
    public static readonly ApiProblem Unauthorized = new("unauthorized", StatusCodes.Status401Unauthorized, "Unauthorized");
    public static readonly ApiProblem Forbidden = new("forbidden", StatusCodes.Status403Forbidden, "Forbidden");
    public static readonly ApiProblem NotFound = new("not-found", StatusCodes.Status404NotFound, "Not found");
    public static readonly ApiProblem MethodNotAllowed = new("method-not-allowed", StatusCodes.Status405MethodNotAllowed, "Method not allowed");
    public static readonly ApiProblem Conflict = new("conflict", StatusCodes.Status409Conflict, "Conflict");
    public static readonly ApiProblem PayloadTooLarge = new("payload-too-large", StatusCodes.Status413PayloadTooLarge, "Request body too large");
    public static readonly ApiProblem UnsupportedMediaType = new("unsupported-media-type", StatusCodes.Status415UnsupportedMediaType, "Request body must be JSON");
    public static readonly ApiProblem RateLimited = new("rate-limited", StatusCodes.Status429TooManyRequests, "Too many requests");
    public static readonly ApiProblem InternalError = new("internal-error", StatusCodes.Status500InternalServerError, "Internal error");
    public static readonly ApiProblem ServiceUnavailable = new("service-unavailable", StatusCodes.Status503ServiceUnavailable, "Service unavailable");
    public static readonly ApiProblem RequestFailed = new("request-failed", 0, "Request failed");

    private static readonly ApiProblem[] General =
        [InvalidRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict, PayloadTooLarge, UnsupportedMediaType, RateLimited, InternalError, ServiceUnavailable];

    /// <summary>The general kind for a status no handler named a kind for.</summary>
    public static ApiProblem ForStatus(int status) =>
        Array.Find(General, kind => kind.Status == status) ?? (status >= 500 ? InternalError : RequestFailed);

    /// <summary>This kind's answer as a handler result.</summary>
    public ProblemHttpResult Result(string detail) =>
        TypedResults.Problem(statusCode: Status, detail: detail, extensions: Members());

    /// <summary>This kind's ProblemDetails, for exceptions and middleware that write their own.</summary>
    public ProblemDetails Details(string detail)
    {
        var problem = new ProblemDetails { Status = Status, Detail = detail };
        Stamp(problem);
        return problem;
    }

    /// <summary>Writes this kind's members onto a problem.</summary>
    public void Stamp(ProblemDetails problem)
    {
        problem.Extensions[CodeMember] = Code;
        problem.Extensions[ErrorMember] = Error;
    }

    private Dictionary<string, object?> Members() => new() { [CodeMember] = Code, [ErrorMember] = Error };
}
