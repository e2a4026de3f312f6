using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Demo;

/// <summary>
/// <c>/demo</c>, in Development only: the appointment chat in the browser, the way the apps run it — a token
/// from <c>POST /api/chat/token</c>, the chat from <c>POST /api/chat/channels</c>, and the official Stream SDK
/// (<c>stream-chat</c>, bundled from npm into <c>Demo/dist</c> and served from here, so no CDN is needed)
/// talking to Stream, here the built-in emulator. Three fixed demo people sign in without a password: the
/// page gets their bearer JWTs from <c>POST /demo/session</c>, signed like <c>dev-token</c>'s.
/// </summary>
internal static class DemoPage
{
    public const string Path = "/demo";
    public const string Organisation = "demo-clinic";
    private const string Folder = "Demo";
    private const string SdkBundle = "dist/stream-chat.js";
    private static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(12);

    /// <summary>Fixed ids, so that two browser windows meet in the same appointment.</summary>
    public static readonly IReadOnlyList<DemoPerson> People =
    [
        new("owner", "demo-owner", "Alex", Roles.PetOwner, null),
        new("vet", "demo-vet", "Dr. Vet", Roles.Vet, Organisation),
        new("practice", "demo-reception", "Reception", Roles.Admin, Organisation),
    ];

    public static IHostApplicationBuilder AddDemo(this IHostApplicationBuilder builder)
    {
        builder.Services.AddApiJsonContext(DemoJsonContext.Default);
        return builder;
    }

    public static WebApplication MapDemo(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            return app;
        }

        var group = app.MapGroup(Path).AllowAnonymous().ExcludeFromDescription();
        group.MapGet("/", (IHostEnvironment environment) => PageFile(environment, "index.html", "text/html; charset=utf-8"));
        group.MapGet("/demo.js", (IHostEnvironment environment) => PageFile(environment, "demo.js", "text/javascript; charset=utf-8"));
        group.MapGet("/demo.css", (IHostEnvironment environment) => PageFile(environment, "demo.css", "text/css; charset=utf-8"));
        group.MapGet("/stream-chat.js", GetSdkBundle);
        group.MapGet("/people", () => TypedResults.Ok(People));
        group.MapPost("/session", StartSession);
        return app;
    }

    private static Results<PhysicalFileHttpResult, ProblemHttpResult> PageFile(IHostEnvironment environment, string name, string contentType)
    {
        var path = System.IO.Path.Combine(environment.ContentRootPath, Folder, name);
        return File.Exists(path)
            ? TypedResults.PhysicalFile(path, contentType)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"The demo page's {name} is not in {System.IO.Path.Combine(environment.ContentRootPath, Folder)}: run the service from its project folder (dotnet run --project src/AppointmentChat.Api).");
    }

    private static Results<PhysicalFileHttpResult, ProblemHttpResult> GetSdkBundle(IHostEnvironment environment)
    {
        var path = System.IO.Path.Combine(environment.ContentRootPath, Folder, SdkBundle);
        return File.Exists(path)
            ? TypedResults.PhysicalFile(path, "text/javascript; charset=utf-8")
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: "The Stream SDK for the demo is not built: run 'npm ci --prefix src/AppointmentChat.Api/Demo' (README, \"Try it in the browser\").");
    }

    /// <summary>A bearer JWT for one of the demo people, signed with the service's own HS256 key.</summary>
    internal static Results<Ok<DemoSession>, ProblemHttpResult> StartSession(DemoSessionRequest request, IOptions<AuthOptions> options, TimeProvider time)
    {
        var person = People.FirstOrDefault(p => p.Key == request.Person);
        if (person is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, detail: $"'person' must be one of: {string.Join(", ", People.Select(p => p.Key))}.");
        }

        var auth = options.Value;
        if (!string.IsNullOrEmpty(auth.Authority) || string.IsNullOrEmpty(auth.JwtSecret))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, detail: "The demo signs its own bearer tokens: it needs JWT_SECRET or the generated development key, not Auth__Authority.");
        }

        var bearer = DevTokens.Create(auth, time.GetUtcNow(), person.UserId, [person.Role], person.OrganisationId, SessionLifetime);
        return TypedResults.Ok(new DemoSession(bearer, person));
    }
}

/// <param name="Key">What the page asks for: <c>owner</c>, <c>vet</c> or <c>practice</c>.</param>
internal sealed record DemoPerson(string Key, string UserId, string Name, string Role, string? OrganisationId);

internal sealed record DemoSessionRequest(string? Person);

/// <param name="Bearer">A JWT for <c>Authorization: Bearer</c> on the service's API.</param>
internal sealed record DemoSession(string Bearer, DemoPerson Person);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(DemoSessionRequest))]
[System.Text.Json.Serialization.JsonSerializable(typeof(DemoSession))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<DemoPerson>))]
internal sealed partial class DemoJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
