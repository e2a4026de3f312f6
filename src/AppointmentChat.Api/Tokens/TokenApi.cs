using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.RateLimiting;
using AppointmentChat.Api.Stream;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Tokens;

/// <summary>POST /api/chat/token: a Stream user token for the caller. CPU only: no database, no network.</summary>
internal static class TokenApi
{
    public static RouteGroupBuilder MapTokens(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chat/token")
            .WithTags("Tokens")
            .RequireAuthorization()
            .RequireRateLimiting(RateLimits.TokenPolicy);

        group.MapPost("/", IssueToken)
            .WithSummary("Get a Stream user token for the caller")
            .WithDescription("expiresAt is the token's exp in Unix milliseconds, comparable with Date.now().");

        return group;
    }

    internal static Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult> IssueToken(
        TokenRequest? request,
        CurrentUser caller,
        StreamTokenSigner signer,
        TimeProvider time,
        IOptions<ChatOptions> chat)
    {
        var userId = request?.UserId ?? caller.Id;
        if (request?.UserId is not null && !StreamIds.IsValidUserId(userId))
        {
            var errors = new RequestErrors();
            errors.Add("userId", StreamIds.Describe(StreamIds.MaxUserIdLength, allowAt: true));
            return errors.ToProblem();
        }

        if (!string.Equals(userId, caller.Id, StringComparison.Ordinal))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, detail: "A token can only be issued for the caller's own user id.");
        }

        if (!StreamIds.IsValidUserId(userId))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest,
                detail: $"The caller's user id (the bearer token's subject) is not a valid Stream user id: it {StreamIds.Describe(StreamIds.MaxUserIdLength, allowAt: true)}");
        }

        // Whole seconds, so that expiresAt is exactly exp in milliseconds.
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds());
        var expiresAt = issuedAt + chat.Value.TokenLifetime;
        var token = signer.CreateUserToken(userId, issuedAt, expiresAt);
        return TypedResults.Ok(new TokenResponse(token, expiresAt.ToUnixTimeMilliseconds()));
    }
}

/// <param name="UserId">Optional: the caller's own user id (the guide's contract). Omit it to mean the caller.</param>
internal sealed record TokenRequest(string? UserId);

/// <param name="Token">A Stream user token (HS256 JWT with user_id, iat and exp).</param>
/// <param name="ExpiresAt">When the token expires, in Unix milliseconds.</param>
internal sealed record TokenResponse(string Token, long ExpiresAt);

