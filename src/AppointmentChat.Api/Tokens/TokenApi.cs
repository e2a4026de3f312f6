using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.RateLimiting;
using AppointmentChat.Api.Stream;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Tokens;

/// <summary>
/// What an app needs to connect to Stream: a user token (CPU only: no database, no network), the
/// public API key and base URL, and a way to revoke the tokens handed out so far.
/// </summary>
internal static class TokenApi
{
    private static readonly ApiProblem NotYourUserId = new("not-your-user-id", StatusCodes.Status403Forbidden, "Forbidden");

    /// <summary>How much longer a revocation waits before it answers, for another instance's clock a little behind this one's.</summary>
    private static readonly TimeSpan RevocationClockMargin = TimeSpan.FromMilliseconds(200);

    // Not a real JWT: the document is public, and nothing that looks like a credential belongs in it.
    private const string ExampleStreamToken = "<Stream user token: an HS256 JWT with user_id, iat and exp>";

    /// <summary>
    /// A token's <c>iat</c>, minted at <paramref name="now"/> (whole seconds): <c>Chat__TokenBackdate</c> earlier, so that a
    /// service clock ahead of Stream's does not make Stream refuse the token as used before it was issued (code 42; see
    /// GetStream/stream-chat-net#209 and the backdating in GetStream/stream-py#198). Stream documents no leeway on iat.
    /// </summary>
    internal static DateTimeOffset TokenIssuedAt(DateTimeOffset now, ChatOptions options) => now.AddSeconds(-Math.Ceiling(options.TokenBackdate.TotalSeconds));

    public static RouteGroupBuilder MapTokens(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chat")
            .WithTags("Tokens")
            .RequireAuthorization()
            .ProducesProblems(StatusCodes.Status401Unauthorized);

        group.MapPost("/token", IssueToken)
            .WithName("createToken")
            .RequireRateLimiting(RateLimits.TokenPolicy)
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status429TooManyRequests)
            .WithSummary("Get a Stream user token for the caller")
            .WithDescription("expiresAt is the token's exp in Unix milliseconds, comparable with Date.now().")
            .WithRequestExample(new TokenRequest("vet-1"))
            .WithResponseExample(StatusCodes.Status200OK, new TokenResponse(ExampleStreamToken, 1795564361000));

        group.MapPost("/token/revoke", RevokeTokens)
            .WithName("revokeTokens")
            .RequireRateLimiting(RateLimits.TokenPolicy)
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status415UnsupportedMediaType,
                StatusCodes.Status429TooManyRequests, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Revoke every Stream token issued so far to the caller (or, for the service role, to any user)")
            .WithRequestExample(new TokenRequest("vet-1"))
            .WithResponseExample(StatusCodes.Status200OK, new RevokeResponse("vet-1", new DateTimeOffset(2030, 1, 15, 9, 59, 1, TimeSpan.Zero)));

        group.MapGet("/config", GetConfig)
            .WithName("getChatConfig")
            .WithSummary("The Stream API key and base URL the apps construct their Stream client with")
            .WithResponseExample(StatusCodes.Status200OK, new ChatConfigResponse("your-stream-api-key", "https://chat.stream-io-api.com"));

        return group;
    }

    internal static Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult> IssueToken(
        TokenRequest? request,
        CurrentUser caller,
        StreamTokenSigner signer,
        TimeProvider time,
        IOptions<ChatOptions> chat,
        Infrastructure.ChatMetrics metrics,
        HttpResponse response)
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
            return NotYourUserId.Result("A token can only be issued for the caller's own user id.");
        }

        if (!StreamIds.IsValidUserId(userId))
        {
            return CallerIds.NotAChatUser.Result($"Stream tokens are for people in chats, and this caller's id (the bearer token's subject) is not one: {CallerIds.ChatIdentityRule}");
        }

        // Whole seconds, so that expiresAt is exactly exp in milliseconds. iat is put in the past (TokenIssuedAt), exp is not.
        var now = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds());
        var issuedAt = TokenIssuedAt(now, chat.Value);
        var expiresAt = now + chat.Value.TokenLifetime;
        var token = signer.CreateUserToken(userId, issuedAt, expiresAt);
        metrics.TokensIssued.Add(1);
        // A bearer credential: no browser, proxy or CDN may keep a copy of it (as RFC 6749 §5.1 asks of token responses).
        response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new TokenResponse(token, expiresAt.ToUnixTimeMilliseconds()));
    }


    internal static async Task<Results<Ok<RevokeResponse>, ValidationProblem, ProblemHttpResult>> RevokeTokens(
        TokenRequest? request,
        CurrentUser caller,
        StreamChatClient stream,
        TimeProvider time,
        IOptions<ChatOptions> chat,
        CancellationToken cancellationToken)
    {
        var userId = request?.UserId ?? caller.Id;
        if (!StreamIds.IsValidUserId(userId))
        {
            var errors = new RequestErrors();
            errors.Add("userId", StreamIds.Describe(StreamIds.MaxUserIdLength, allowAt: true));
            return errors.ToProblem();
        }

        if (!string.Equals(userId, caller.Id, StringComparison.Ordinal) && !caller.IsService)
        {
            return NotYourUserId.Result("Only the user themself or the service role may revoke a user's tokens.");
        }

        // Every token minted up to now, this second included, has iat <= now - backdate < before: revoked. Set on the same
        // backdated scale as iat, the instant is never ahead of Stream's clock either.
        var now = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds());
        var before = TokenIssuedAt(now, chat.Value).AddSeconds(1);
        try
        {
            await stream.RevokeUserTokensAsync(userId, before, cancellationToken);
        }
        catch (StreamApiException ex) when (ex.MayBeMissingUser)
        {
            // Perhaps never connected, so unknown to Stream. Decided by looking the user up, never by the refusal's wording:
            // one Stream lacks is created bare (nothing to overwrite). Then the revocation again — also when Stream has the
            // user now: a concurrent revocation of the same new user may have created it since the refusal. A user Stream
            // had all along and still refuses keeps the refusal.
            if (!(await stream.ExistingUserIdsAsync([userId], cancellationToken)).Contains(userId))
            {
                await stream.UpsertUsersAsync([new StreamUser(userId)], cancellationToken);
            }

            await stream.RevokeUserTokensAsync(userId, before, cancellationToken);
        }

        // A token minted after this answer must not count as revoked: it is minted in a later whole second, so its iat is
        // at least one second past `before` — past it whether Stream compares iat < before or <= (its docs say only
        // "issued before"). Hence the answer waits for the second after next to begin, with a margin for the clocks of
        // other instances. Revocation is rare (a sign-out, a lost phone); the wait is at most ~2.2 s.
        var mintable = now.AddSeconds(2) + RevocationClockMargin;
        if (mintable > time.GetUtcNow())
        {
            await Task.Delay(mintable - time.GetUtcNow(), time, cancellationToken);
        }

        return TypedResults.Ok(new RevokeResponse(userId, before));
    }

    internal static async Task<Ok<ChatConfigResponse>> GetConfig(HttpContext http, IOptions<StreamOptions> options, StreamEndpoint endpoint, CancellationToken cancellationToken)
    {
        var stream = options.Value;
        var baseUrl = stream.UseEmulator ? await EmulatorUrlAsync(http, stream, endpoint, cancellationToken) : stream.BaseUrl.TrimEnd('/');
        return TypedResults.Ok(new ChatConfigResponse(stream.ApiKey!, baseUrl));
    }

    /// <summary>
    /// Where the apps reach the built-in emulator. Never built from an unchecked <c>Host</c> header, which a caller
    /// chooses (a forged one would send the apps' tokens elsewhere): <c>Stream__EmulatorPublicUrl</c> when set; the
    /// request's own host when it is a loopback one (a browser on the developer's machine); else the address the
    /// service listens on.
    /// </summary>
    private static async Task<string> EmulatorUrlAsync(HttpContext http, StreamOptions stream, StreamEndpoint endpoint, CancellationToken cancellationToken)
    {
        if (stream.EmulatorPublicUrl is { Length: > 0 } configured)
        {
            return configured.TrimEnd('/');
        }

        var host = http.Request.Host.Host;
        if (host is "localhost" or "127.0.0.1" or "[::1]" or "::1")
        {
            return $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{StreamOptions.EmulatorPath}";
        }

        return (await endpoint.BaseUriAsync(cancellationToken)).AbsoluteUri.TrimEnd('/');
    }
}

/// <param name="UserId">Optional: the caller's own user id (the guide's contract). Omit it to mean the caller.</param>
internal sealed record TokenRequest(string? UserId = null);

/// <param name="Token">A Stream user token (HS256 JWT with user_id, iat and exp).</param>
/// <param name="ExpiresAt">When the token expires, in Unix milliseconds.</param>
internal sealed record TokenResponse(string Token, long ExpiresAt);


/// <param name="RevokedBefore">Tokens issued before this instant no longer work.</param>
internal sealed record RevokeResponse(string UserId, DateTimeOffset RevokedBefore);

/// <param name="ApiKey">The Stream app's public API key.</param>
/// <param name="BaseUrl">Stream's base URL for the apps' Stream client (the service's own /stream with the built-in emulator).</param>
internal sealed record ChatConfigResponse(string ApiKey, string BaseUrl);
