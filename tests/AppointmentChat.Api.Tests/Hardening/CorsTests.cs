using System.Net;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Browsers on the configured origins (<c>Cors__AllowedOrigins</c>) may call <c>/api</c> with a bearer token; others get
/// no CORS header, so their browsers keep the answer from them. The headless-browser side is tests/e2e/cors.test.js.
/// </summary>
public sealed class CorsTests
{
    private const string WebApp = "https://pms.example.com";

    private static Task<ChatApp> StartAsync(params string[] origins)
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < origins.Length; i++)
        {
            settings[$"Cors:AllowedOrigins:{i}"] = origins[i];
        }

        return ChatApp.StartAsync(DatabaseKind.Sqlite, settings);
    }

    private static HttpRequestMessage Preflight(string origin, string method = "GET", string path = "/api/chat/channels") =>
        new(HttpMethod.Options, path)
        {
            Headers =
            {
                { "Origin", origin },
                { "Access-Control-Request-Method", method },
                { "Access-Control-Request-Headers", "authorization,content-type" },
            },
        };

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static void AssertNoCorsHeaders(HttpResponseMessage response) =>
        Assert.DoesNotContain(response.Headers, header => header.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));

    [Fact]
    public async Task APreflightFromAnAllowedOriginIsAnsweredWithCredentialsTheBearerHeaderAndACachedAnswer()
    {
        await using var app = await StartAsync("https://other.example.com", WebApp);

        using var response = await app.AnonymousClient().SendAsync(Preflight(WebApp, "POST", "/api/chat/token"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(WebApp, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        var headers = Header(response, "Access-Control-Allow-Headers")!.Split(',');
        Assert.Contains("Authorization", headers, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("Content-Type", headers, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("POST", Header(response, "Access-Control-Allow-Methods")!.Split(','));
        Assert.Equal("600", Header(response, "Access-Control-Max-Age"));
    }

    [Fact]
    public async Task APreflightOrARequestFromAnotherOriginGetsNoCorsHeaders()
    {
        await using var app = await StartAsync(WebApp);

        using var preflight = await app.AnonymousClient().SendAsync(Preflight("https://evil.example.com"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/chat/config") { Headers = { { "Origin", "https://evil.example.com" } } };
        using var response = await app.ClientFor("vet-1", "vet").SendAsync(request);

        AssertNoCorsHeaders(preflight);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the browser, not the server, withholds it
        AssertNoCorsHeaders(response);
    }

    [Fact]
    public async Task WithoutConfiguredOriginsNoAnswerCarriesACorsHeader()
    {
        await using var app = await StartAsync();

        using var preflight = await app.AnonymousClient().SendAsync(Preflight(WebApp));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/chat/config") { Headers = { { "Origin", WebApp } } };
        using var response = await app.ClientFor("vet-1", "vet").SendAsync(request);

        AssertNoCorsHeaders(preflight);
        AssertNoCorsHeaders(response);
    }

    [Fact]
    public async Task ARequestFromAnAllowedOriginMayReadTheAnswerItsErrorsAndRetryAfter()
    {
        await using var app = await StartAsync(WebApp);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/chat/config") { Headers = { { "Origin", WebApp } } };
        using var response = await app.ClientFor("vet-1", "vet").SendAsync(request);
        using var unauthenticated = new HttpRequestMessage(HttpMethod.Get, "/api/chat/channels") { Headers = { { "Origin", WebApp } } };
        using var refused = await app.AnonymousClient().SendAsync(unauthenticated);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WebApp, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        Assert.Contains("Retry-After", Header(response, "Access-Control-Expose-Headers")!.Split(','));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(WebApp, Header(refused, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task PreflightsCarryNoTokenYetNeitherGet401NorCountAsFailedAuthentication()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["Cors:AllowedOrigins:0"] = WebApp,
            ["RateLimiting:FailedAuthentication:PermitLimit"] = "3",
            ["RateLimiting:FailedAuthentication:WindowSeconds"] = "60",
        });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            using var preflight = await app.AnonymousClient().SendAsync(Preflight(WebApp));
            statuses.Add(preflight.StatusCode);
        }

        using var afterwards = await app.ClientFor("vet-1", "vet").GetAsync("/api/chat/config");

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.NoContent, status));
        Assert.Equal(HttpStatusCode.OK, afterwards.StatusCode);
    }

    [Fact]
    public async Task TheEmbeddedStreamEmulatorStillAnswersEveryOrigin()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["Cors:AllowedOrigins:0"] = WebApp,
            ["STREAM_API_KEY"] = null,
            ["STREAM_API_SECRET"] = null,
            ["STREAM_CHAT_URL"] = null,
        });

        using var preflight = await app.AnonymousClient().SendAsync(Preflight("https://anyone.example.com", "POST", "/stream/channels"));

        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("*", Header(preflight, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task AnOriginThatIsAWildcardAPathOrNotHttpStopsTheServiceNamingTheSetting()
    {
        var folder = Directory.CreateTempSubdirectory("appointment-chat-cors-").FullName;
        try
        {
            await using var service = ServiceProcess.Start(new Dictionary<string, string?>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
                ["Storage__DataFolder"] = folder,
                ["Cors__AllowedOrigins__0"] = "https://pms.example.com",
                ["Cors__AllowedOrigins__1"] = "*",
                ["Cors__AllowedOrigins__2"] = "https://pms.example.com/app",
                ["Cors__AllowedOrigins__3"] = "ftp://pms.example.com",
                ["Cors__AllowedOrigins__4"] = "pms.example.com",
            }, folder);

            Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            var lines = service.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(4, lines.Length);
            Assert.All(lines, line => Assert.StartsWith("Configuration error: Cors__AllowedOrigins__", line, StringComparison.Ordinal));
            Assert.Contains("Cors__AllowedOrigins__1 is '*'", lines[0], StringComparison.Ordinal);
            Assert.Contains("Cors__AllowedOrigins__2 must be an origin", lines[1], StringComparison.Ordinal);
            Assert.Contains("Cors__AllowedOrigins__3 must be an absolute http(s) origin", lines[2], StringComparison.Ordinal);
            Assert.Contains("Cors__AllowedOrigins__4 must be an absolute http(s) origin", lines[3], StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
