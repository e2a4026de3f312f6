using System.Text;
using AppointmentChat.Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Auth;

/// <summary>How callers' bearer JWTs are validated: a shared HS256 secret, or an OIDC authority.</summary>
internal sealed class AuthOptions
{
    public const string Section = "Auth";
    public const int MinimumSecretBytes = 32;

    /// <summary>HS256 key for callers' JWTs (setting <c>JWT_SECRET</c>).</summary>
    public string? JwtSecret { get; set; }

    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    /// <summary>An OIDC issuer (e.g. a Cognito user pool); signing keys come from its JWKS.</summary>
    public string? Authority { get; set; }

    public string UserIdClaim { get; set; } = "sub";

    public string RoleClaim { get; set; } = "role";

    public string OrganisationClaim { get; set; } = "org";

    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>True when no auth was configured in Development and a generated local key is in use.</summary>
    public bool UsesDevelopmentKey { get; set; }

    public byte[] SecretBytes => Encoding.UTF8.GetBytes(JwtSecret ?? "");
}

/// <summary>Reads <c>JWT_SECRET</c> and, in Development with no auth configured, the generated local key.</summary>
internal sealed class AuthOptionsSetup(IConfiguration configuration, IHostEnvironment environment, DataFolder dataFolder)
    : IConfigureOptions<AuthOptions>, IPostConfigureOptions<AuthOptions>
{
    public const string DevelopmentKeyFile = "dev-jwt-signing.key";

    public void Configure(AuthOptions options)
    {
        configuration.GetSection(AuthOptions.Section).Bind(options);
        var secret = configuration["JWT_SECRET"];
        if (!string.IsNullOrEmpty(secret))
        {
            options.JwtSecret = secret;
        }
    }

    public void PostConfigure(string? name, AuthOptions options)
    {
        if (string.IsNullOrEmpty(options.JwtSecret) && string.IsNullOrEmpty(options.Authority) && environment.IsDevelopment())
        {
            options.JwtSecret = dataFolder.ReadOrCreateSecret(DevelopmentKeyFile);
            options.UsesDevelopmentKey = true;
        }
    }
}

internal sealed class AuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        var hasSecret = !string.IsNullOrEmpty(options.JwtSecret);
        var hasAuthority = !string.IsNullOrEmpty(options.Authority);

        if (!hasSecret && !hasAuthority)
        {
            failures.Add("JWT_SECRET (or Auth__Authority) is not set: outside Development the service needs a way to validate callers' bearer tokens.");
        }

        if (hasSecret && hasAuthority)
        {
            failures.Add("Set either JWT_SECRET or Auth__Authority, not both.");
        }

        if (hasSecret && options.SecretBytes.Length < AuthOptions.MinimumSecretBytes)
        {
            failures.Add($"JWT_SECRET must be at least {AuthOptions.MinimumSecretBytes} bytes long (it has {options.SecretBytes.Length}).");
        }

        if (hasAuthority)
        {
            if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority)
                || (authority.Scheme != Uri.UriSchemeHttps && !(authority.IsLoopback && environment.IsDevelopment())))
            {
                failures.Add("Auth__Authority must be an absolute https:// URL of an OIDC issuer.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.UserIdClaim))
        {
            failures.Add("Auth__UserIdClaim must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.RoleClaim))
        {
            failures.Add("Auth__RoleClaim must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.OrganisationClaim))
        {
            failures.Add("Auth__OrganisationClaim must not be empty.");
        }

        if (options.Issuer is { } issuer && string.IsNullOrWhiteSpace(issuer))
        {
            failures.Add("Auth__Issuer must not be blank: leave it unset to accept any issuer.");
        }

        if (options.Audience is { } audience && string.IsNullOrWhiteSpace(audience))
        {
            failures.Add("Auth__Audience must not be blank: leave it unset to accept any audience.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
        {
            failures.Add("Auth__ClockSkew must be between 00:00:00 and 00:05:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
