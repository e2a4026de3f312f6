using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AppointmentChat.Api.Auth;

/// <summary>
/// Mints caller JWTs with the service's own HS256 key, for development and demos:
/// <c>dotnet run --project src/AppointmentChat.Api -- dev-token --user vet-1 --role vet</c>.
/// </summary>
internal static class DevTokens
{
    public const string CommandName = "dev-token";

    public static string Create(AuthOptions auth, DateTimeOffset now, string userId, IEnumerable<string> roles, string? organisationId, TimeSpan lifetime)
    {
        var claims = new Dictionary<string, object> { [auth.UserIdClaim] = userId };
        var roleList = roles.ToArray();
        if (roleList.Length > 0)
        {
            claims[auth.RoleClaim] = roleList.Length == 1 ? roleList[0] : roleList;
        }

        if (!string.IsNullOrEmpty(organisationId))
        {
            claims[auth.OrganisationClaim] = organisationId;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims,
            Issuer = auth.Issuer,
            Audience = auth.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(auth.SecretBytes), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>The <c>dev-token</c> command: prints one bearer JWT on standard output.</summary>
    public static int RunCommand(WebApplicationBuilder builder, string[] args)
    {
        string? user = null, organisation = null;
        var roles = new List<string>();
        var lifetime = TimeSpan.FromHours(12);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--user" when value is not null: user = value; i++; break;
                case "--role" when value is not null: roles.Add(value); i++; break;
                case "--org" when value is not null: organisation = value; i++; break;
                case "--hours" when double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var hours) && hours > 0:
                    lifetime = TimeSpan.FromHours(hours); i++; break;
                default:
                    return Usage($"Unexpected argument '{args[i]}'.");
            }
        }

        if (user is null)
        {
            return Usage("--user is required.");
        }

        var unknown = roles.FirstOrDefault(r => !Roles.All.Contains(r));
        if (unknown is not null)
        {
            return Usage($"Unknown role '{unknown}'; use one of: {string.Join(", ", Roles.All)}.");
        }

        builder.AddChatAuth();
        using var app = builder.Build();
        AuthOptions auth;
        try
        {
            auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine(string.Join(Environment.NewLine, ex.Failures));
            return 1;
        }

        if (!string.IsNullOrEmpty(auth.Authority) || string.IsNullOrEmpty(auth.JwtSecret))
        {
            Console.Error.WriteLine("dev-token needs an HS256 key: it works in Development or with JWT_SECRET, not with Auth__Authority.");
            return 1;
        }

        var now = (app.Services.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        Console.Out.WriteLine(Create(auth, now, user, roles, organisation, lifetime));
        return 0;
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine(problem);
        Console.Error.WriteLine("usage: dev-token --user <id> [--role pet-owner|vet|admin|service]... [--org <organisationId>] [--hours <n>]");
        return 2;
    }
}
