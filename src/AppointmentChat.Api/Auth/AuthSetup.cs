using AppointmentChat.Api.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace AppointmentChat.Api.Auth;

internal static class AuthSetup
{
    /// <summary>Policy for the practice-management side: the PMS back end (<c>service</c>) or an <c>admin</c>.</summary>
    public const string PracticePolicy = "practice";

    /// <summary>Policy for operator endpoints: the trusted back end only.</summary>
    public const string ServicePolicy = "service";

    /// <summary>Policy for the operator surface: an <c>operator</c>, or the trusted back end whose automation already operates.</summary>
    public const string OperatorPolicy = "operator";

    public static IHostApplicationBuilder AddChatAuth(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton<DataFolder>();
        services.AddSingleton<IConfigureOptions<AuthOptions>, AuthOptionsSetup>();
        services.AddSingleton<IPostConfigureOptions<AuthOptions>, AuthOptionsSetup>();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<AuthOptions>().ValidateOnStart();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>, IHostEnvironment>((jwt, auth, environment) => ConfigureJwtBearer(jwt, auth.Value, environment));

        services.AddAuthorizationBuilder()
            // Nothing is anonymous unless it says so — except routing's own refusals (405, 415), which run no code
            // of ours: an anonymous caller of an anonymous endpoint (a webhook with the wrong content type, a health
            // probe with the wrong method) hears what is wrong, not that it needs a bearer token.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder()
                .RequireAssertion(context => context.User.Identity?.IsAuthenticated == true || IsRoutingRefusal(context.Resource))
                .Build())
            .AddPolicy(PracticePolicy, policy => policy.RequireRole(Roles.Service, Roles.Admin))
            .AddPolicy(ServicePolicy, policy => policy.RequireRole(Roles.Service))
            .AddPolicy(OperatorPolicy, policy => policy.RequireRole(Roles.Operator, Roles.Service));

        return builder;
    }

    /// <summary>The endpoints routing makes up to answer 405 and 415 carry no metadata; every endpoint of ours has some.</summary>
    private static bool IsRoutingRefusal(object? resource) =>
        resource is HttpContext { } http && http.GetEndpoint() is { Metadata.Count: 0 };

    private static void ConfigureJwtBearer(JwtBearerOptions jwt, AuthOptions auth, IHostEnvironment environment)
    {
        jwt.MapInboundClaims = false;
        // Nothing reads the bearer token back from the authentication properties; storing it cost every request.
        jwt.SaveToken = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            NameClaimType = auth.UserIdClaim,
            RoleClaimType = auth.RoleClaim,
            ValidateIssuer = !string.IsNullOrEmpty(auth.Issuer) || !string.IsNullOrEmpty(auth.Authority),
            ValidIssuer = auth.Issuer,
            ValidateAudience = !string.IsNullOrEmpty(auth.Audience),
            ValidAudience = auth.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = auth.ClockSkew,
        };

        if (!string.IsNullOrEmpty(auth.Authority))
        {
            jwt.Authority = auth.Authority;
            jwt.RequireHttpsMetadata = !environment.IsDevelopment();
            jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];
        }
        else
        {
            jwt.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(auth.SecretBytes);
            // Only HS256: a token claiming RS256 or "none" is refused outright.
            jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }

        jwt.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                if (CurrentUser.From(context.Principal!, auth) is not { } caller)
                {
                    context.Fail($"The token has no '{auth.UserIdClaim}' claim.");
                }
                else if (!CallerIds.IsAcceptableId(caller.Id))
                {
                    context.Fail(new CallerRefusedException(
                        $"The token's '{auth.UserIdClaim}' claim is not an id this service accepts: 1 to {CallerIds.MaxIdLength} characters, none a control character."));
                }
                else if (caller.OrganisationId is { } organisation && !CallerIds.IsAcceptableOrganisation(organisation))
                {
                    context.Fail(new CallerRefusedException(
                        $"The token's '{auth.OrganisationClaim}' claim is not an organisation id this service accepts: it {Infrastructure.StreamIds.Describe(Infrastructure.StreamIds.MaxUserIdLength, allowAt: true)}"));
                }
                else
                {
                    // Read once: the endpoints take the caller from here rather than reading the claims again.
                    CurrentUser.Remember(context.HttpContext, context.Principal!, caller);
                }

                return Task.CompletedTask;
            },
            OnChallenge = WriteChallengeAsync,
        };
    }

    /// <summary>401 as ProblemDetails, saying whether the token was missing, expired or invalid.</summary>
    private static async Task WriteChallengeAsync(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        var (error, detail, kind) = context.AuthenticateFailure switch
        {
            null when string.IsNullOrEmpty(context.Request.Headers.Authorization) => ((string?)null, "This endpoint requires a bearer token (Authorization: Bearer <jwt>).", ApiProblem.Unauthorized),
            null => ("invalid_token", "The Authorization header must be 'Bearer <jwt>'.", ApiProblem.Unauthorized),
            SecurityTokenExpiredException => ("invalid_token", "The bearer token has expired.", BearerTokenExpired),
            SecurityTokenNotYetValidException => ("invalid_token", "The bearer token is not valid yet.", ApiProblem.Unauthorized),
            CallerRefusedException refused => ("invalid_token", refused.Message, ApiProblem.Unauthorized),
            _ => ("invalid_token", "The bearer token is not valid.", ApiProblem.Unauthorized),
        };

        var response = context.Response;
        response.StatusCode = StatusCodes.Status401Unauthorized;
        response.Headers.WWWAuthenticate = error is null ? "Bearer" : $"Bearer error=\"{error}\"";
        var problems = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context.HttpContext,
            ProblemDetails = kind.Details(detail),
        });
    }

    /// <summary>The app's own sign-in has lapsed: refresh it and retry, rather than signing the user out.</summary>
    public static readonly ApiProblem BearerTokenExpired = new("bearer-token-expired", StatusCodes.Status401Unauthorized, "Unauthorized");
}

/// <summary>A validly signed token whose caller the service cannot take (<see cref="CallerIds"/>); the message says why.</summary>
internal sealed class CallerRefusedException(string message) : Exception(message);
