using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>Section <c>Cors</c>: the web origins whose pages may call <c>/api</c> from the browser. None by default.</summary>
internal sealed class ApiCorsOptions
{
    public const string Section = "Cors";

    /// <summary>Origins such as <c>https://pms.example.com</c>: scheme, host and port only.</summary>
    public string[] AllowedOrigins { get; set; } = [];
}

/// <summary>
/// Cross-origin calls to <c>/api</c> from the configured origins (the web app runs on its own): bearer token and JSON
/// bodies allowed, preflights cached, and the headers the apps read exposed. Without origins no answer carries a CORS
/// header. A preflight is answered by the CORS middleware before authentication, so it never counts as a failed one.
/// </summary>
internal static class ApiCors
{
    public const string Policy = "api";
    private static readonly TimeSpan PreflightMaxAge = TimeSpan.FromMinutes(10);

    public static IHostApplicationBuilder AddApiCors(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiCorsOptions>().BindConfiguration(ApiCorsOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ApiCorsOptions>, ApiCorsOptionsValidator>();
        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>()
            .Configure<IOptions<ApiCorsOptions>>((cors, api) => cors.AddPolicy(Policy, policy => policy
                .WithOrigins(api.Value.AllowedOrigins)
                .AllowCredentials()
                .WithHeaders("Authorization", "Content-Type")
                .WithMethods("GET", "POST", "PUT", "DELETE")
                .WithExposedHeaders("Retry-After", "WWW-Authenticate", "Location")
                .SetPreflightMaxAge(PreflightMaxAge)));
        return builder;
    }

    /// <summary>The group the <c>/api</c> endpoints are mapped in: it answers the configured origins.</summary>
    public static RouteGroupBuilder MapApi(this IEndpointRouteBuilder routes) => routes.MapGroup("").RequireCors(Policy);
}

internal sealed class ApiCorsOptionsValidator : IValidateOptions<ApiCorsOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiCorsOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.AllowedOrigins.Length; i++)
        {
            if (OriginProblem(options.AllowedOrigins[i]) is { } problem)
            {
                failures.Add($"Cors__AllowedOrigins__{i} {problem}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string? OriginProblem(string origin)
    {
        if (origin.Trim() == "*")
        {
            return "is '*': credentials are allowed, so every origin must be named (e.g. https://pms.example.com).";
        }

        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return $"must be an absolute http(s) origin such as https://pms.example.com, not '{origin}'.";
        }

        // An origin is scheme://host[:port]; a browser never sends a path, a trailing slash, a query or credentials.
        if (!string.Equals(uri.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase) || !string.IsNullOrEmpty(uri.UserInfo) || origin.Contains('*', StringComparison.Ordinal))
        {
            return $"must be an origin (scheme, host and optional port, no path or trailing slash) such as {uri.GetLeftPart(UriPartial.Authority)}, not '{origin}'.";
        }

        return null;
    }
}
