using System.Reflection;
using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Auth;

/// <summary>The authenticated caller: user id, the roles the service knows, and organisation.</summary>
internal sealed record CurrentUser(string Id, IReadOnlyList<string> Roles, string? OrganisationId)
{
    public bool IsService => Is(Auth.Roles.Service);

    public bool IsAdmin => Is(Auth.Roles.Admin);

    public bool Is(string role) => Roles.Contains(role, StringComparer.Ordinal);

    /// <summary>An admin acts only within their own organisation.</summary>
    public bool IsAdminOf(string organisationId) =>
        IsAdmin && OrganisationId is not null && string.Equals(OrganisationId, organisationId, StringComparison.Ordinal);

    public static CurrentUser? From(ClaimsPrincipal principal, AuthOptions options)
    {
        var id = principal.FindFirst(options.UserIdClaim)?.Value;
        if (string.IsNullOrEmpty(id))
        {
            return null;
        }

        List<string>? roles = null;
        foreach (var claim in principal.FindAll(options.RoleClaim))
        {
            var known = Array.Find(Auth.Roles.All, r => string.Equals(r, claim.Value, StringComparison.Ordinal));
            if (known is not null && !(roles ??= []).Contains(known))
            {
                roles.Add(known);
            }
        }

        var organisation = principal.FindFirst(options.OrganisationClaim)?.Value;
        return new CurrentUser(id, roles ?? [], string.IsNullOrEmpty(organisation) ? null : organisation);
    }

    /// <summary>Keeps the caller read from <paramref name="principal"/> for the endpoint's parameter.</summary>
    public static void Remember(HttpContext context, ClaimsPrincipal principal, CurrentUser caller) =>
        context.Features.Set(new Remembered(principal, caller));

    /// <summary>Lets handlers take the caller as a parameter; endpoints using it require authentication.</summary>
    public static ValueTask<CurrentUser?> BindAsync(HttpContext context, ParameterInfo parameter)
    {
        // Only for the principal it was read from: whatever replaced context.User since is read afresh.
        if (context.Features.Get<Remembered>() is { } remembered && ReferenceEquals(remembered.Principal, context.User))
        {
            return ValueTask.FromResult<CurrentUser?>(remembered.Caller);
        }

        var options = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value;
        return ValueTask.FromResult(From(context.User, options));
    }

    private sealed record Remembered(ClaimsPrincipal Principal, CurrentUser Caller);
}
