using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>The OpenAPI document describes every endpoint, body and status; /docs renders it in a real browser.</summary>
public sealed class ApiDocumentTests(SqliteApp fixture) : IClassFixture<SqliteApp>
{
    // What each endpoint can answer, from the issues' contracts: any request 429 (failed authentication from its
    // address) and 500; any JSON body 400, 413 and 415; 503 where the database or Stream is involved.
    private static readonly Dictionary<string, int[]> Expected = new()
    {
        ["POST /api/chat/token"] = [200, 400, 401, 403, 413, 415, 429, 500],
        ["POST /api/chat/token/revoke"] = [200, 400, 401, 403, 413, 415, 429, 500, 502, 503],
        ["GET /api/chat/config"] = [200, 401, 429, 500],
        ["PUT /api/appointments/{appointmentId}"] = [200, 201, 400, 401, 403, 409, 413, 415, 429, 500, 503],
        ["GET /api/appointments/{appointmentId}"] = [200, 400, 401, 404, 429, 500, 503],
        ["POST /api/chat/channels"] = [200, 400, 401, 403, 404, 409, 413, 415, 429, 500, 502, 503],
        ["GET /api/chat/channels"] = [200, 400, 401, 429, 500, 503],
        ["GET /api/chat/unread"] = [200, 401, 429, 500, 503],
        ["POST /api/chat/channels/{channelId}/end"] = [200, 400, 401, 403, 404, 429, 500, 502, 503],
        ["GET /api/chat/channels/{channelId}/transcript"] = [200, 400, 401, 403, 404, 429, 500, 502, 503],
        ["POST /api/webhooks/stream"] = [200, 400, 401, 413, 415, 429, 500, 503],
        ["GET /api/webhooks/dead"] = [200, 400, 401, 403, 429, 500, 503],
        ["POST /api/webhooks/dead/{eventId}/retry"] = [200, 401, 403, 404, 429, 500, 503],
        ["POST /api/webhooks/catch-up"] = [202, 401, 403, 429, 500],
        ["POST /api/devices"] = [200, 201, 400, 401, 403, 413, 415, 429, 500, 503],
        ["DELETE /api/devices/{token}"] = [204, 400, 401, 403, 404, 429, 500, 503],
        ["GET /api/operator/webhooks"] = [200, 400, 401, 403, 429, 500, 503],
        ["POST /api/operator/webhooks/{id}/retry"] = [200, 401, 403, 404, 429, 500, 503],
        ["POST /api/operator/webhooks/{id}/discard"] = [200, 401, 403, 404, 429, 500, 503],
        ["GET /api/operator/chats"] = [200, 400, 401, 403, 429, 500, 503],
        ["POST /api/operator/chats/{appointmentId}/retry"] = [200, 400, 401, 403, 404, 409, 429, 500, 503],
        ["POST /api/operator/chats/{appointmentId}/discard"] = [200, 400, 401, 403, 404, 409, 429, 500, 503],
        ["GET /api/operator/pushes"] = [200, 400, 401, 403, 429, 500, 503],
        ["POST /api/operator/pushes/{id}/retry"] = [200, 401, 403, 404, 429, 500, 503],
        ["POST /api/operator/pushes/{id}/discard"] = [200, 401, 403, 404, 429, 500, 503],
        ["GET /api/operator/transcripts"] = [200, 400, 401, 403, 429, 500, 503],
        ["POST /api/operator/transcripts/{id}/retry"] = [200, 401, 403, 404, 429, 500, 503],
        ["POST /api/operator/transcripts/{id}/discard"] = [200, 401, 403, 404, 429, 500, 503],
        ["GET /api/operator/audit"] = [200, 400, 401, 403, 429, 500, 503],
        ["GET /api/privacy/users/{userId}/export"] = [200, 400, 401, 403, 429, 500, 502, 503],
        ["POST /api/privacy/users/{userId}/erasure"] = [200, 202, 400, 401, 403, 409, 413, 415, 429, 500, 503],
        ["GET /api/privacy/erasures/{id}"] = [200, 401, 403, 404, 429, 500, 503],
        ["GET /api/organisations/{organisationId}/settings"] = [200, 400, 401, 403, 429, 500, 503],
        ["PUT /api/organisations/{organisationId}/settings"] = [200, 400, 401, 403, 413, 415, 429, 500, 503],
    };

    private static async Task<JsonElement> DocumentAsync(ChatApp app) =>
        await (await app.AnonymousClient().GetAsync("/openapi/v1.json")).ShouldBeOkJsonAsync();

    [Fact]
    public async Task EveryApiEndpointTheAppServesIsInTheDocument()
    {
        var app = await fixture.StartAsync();
        var document = await DocumentAsync(app);

        var served = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {Normalise(e.RoutePattern.RawText!)}"))
            .ToHashSet();
        var documented = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => $"{o.Name.ToUpperInvariant()} {p.Name}"))
            .ToHashSet();

        Assert.Equal(served.Order(), documented.Order());
        Assert.Equal(served.Order(), Expected.Keys.Order());
    }

    [Fact]
    public async Task TheClientPackagesOpenApiSnapshotIsTheDocumentTheServiceServes()
    {
        var app = await fixture.StartAsync();
        var served = JsonNode.Parse(await app.AnonymousClient().GetStringAsync("/openapi/v1.json"))!.AsObject();
        served.Remove("servers"); // where this run listens; the snapshot leaves it out
        var snapshot = Path.Combine(Repository.Root(), "clients", "js", "openapi.json");

        var committed = JsonNode.Parse(await File.ReadAllTextAsync(snapshot));

        Assert.True(JsonNode.DeepEquals(served, committed),
            "clients/js/openapi.json (the client package's types come from it) is not the document the service serves: "
            + "refresh it with `npm run openapi --prefix clients/js` and commit it.");
    }

    [Fact]
    public async Task EveryStatusHasItsBodyAndEveryErrorIsProblemDetails()
    {
        var app = await fixture.StartAsync();
        var document = await DocumentAsync(app);
        var schemas = document.GetProperty("components").GetProperty("schemas");

        foreach (var (operation, statuses) in Expected)
        {
            var (method, path) = (operation.Split(' ')[0].ToLowerInvariant(), operation.Split(' ')[1]);
            var op = document.GetProperty("paths").GetProperty(path).GetProperty(method);
            var responses = op.GetProperty("responses");
            Assert.Equal(statuses.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), responses.EnumerateObject().Select(r => r.Name).Order());
            foreach (var status in statuses)
            {
                Assert.True(responses.TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response), $"{operation} does not document {status}");
                if (status == 204)
                {
                    continue;
                }

                var content = response.GetProperty("content");
                if (status >= 400)
                {
                    var schema = content.GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString();
                    Assert.True(schema is "#/components/schemas/ProblemDetails" or "#/components/schemas/HttpValidationProblemDetails", $"{operation} {status}: {schema}");
                }
                else
                {
                    var schema = content.GetProperty("application/json").GetProperty("schema");
                    Assert.True(schema.TryGetProperty("$ref", out var reference), $"{operation} {status} has no body schema");
                    Assert.True(schemas.TryGetProperty(reference.GetString()!.Split('/')[^1], out _));
                }
            }

            if (method is "post" or "put" && !path.EndsWith("/end", StringComparison.Ordinal) && !path.EndsWith("/retry", StringComparison.Ordinal) && !path.EndsWith("/discard", StringComparison.Ordinal) && path != "/api/chat/token/revoke" && path != "/api/webhooks/catch-up")
            {
                Assert.True(op.TryGetProperty("requestBody", out var body) && body.GetProperty("content").TryGetProperty("application/json", out _), $"{operation} has no JSON request body");
            }
        }
    }

    [Fact]
    public async Task BearerAuthenticationIsDescribedAndRequiredWhereTheEndpointsRequireIt()
    {
        var app = await fixture.StartAsync();
        var document = await DocumentAsync(app);

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        Assert.Equal("JWT", scheme.GetProperty("bearerFormat").GetString());
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var op in path.Value.EnumerateObject())
            {
                var secured = op.Value.TryGetProperty("security", out var security) && security.GetArrayLength() > 0;
                Assert.True(secured == (path.Name != "/api/webhooks/stream"), $"{op.Name} {path.Name} security: {secured}");
            }
        }
    }

    [Fact]
    public async Task EnumsAreDocumentedByTheirNames()
    {
        var app = await fixture.StartAsync();
        var schemas = (await DocumentAsync(app)).GetProperty("components").GetProperty("schemas");

        Assert.Equal(["requested", "upcoming", "checked-in", "in-progress", "completed", "cancelled", "no-show"],
            schemas.GetProperty("AppointmentStatus").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["ios", "android", "web"], schemas.GetProperty("DevicePlatform").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task TheDocsPageRendersInChromiumAndListsTheChatEndpoints()
    {
        Chromium.Require();
        var app = await fixture.StartAsync();
        var page = new Uri(app.BaseAddress, "docs/").ToString();

        // The page renders each tag's operations as it is opened; open the Channels tag.
        var dom = WebUtility.HtmlDecode(await Chromium.RunAsync(["--virtual-time-budget=20000", "--window-size=1400,1800", "--dump-dom", page + "#tag/channels"], TimeSpan.FromSeconds(90)));
        var screenshot = Path.Combine(Chromium.ArtifactsFolder(), "docs.png");
        await Chromium.RunAsync(["--virtual-time-budget=20000", "--window-size=1400,1800", $"--screenshot={screenshot}", page], TimeSpan.FromSeconds(90));

        Assert.Contains("<title>AppointmentChat API</title>", dom, StringComparison.Ordinal);
        foreach (var text in new[] { "/api/chat/channels", "/api/chat/channels/{channelId}/end", "Tokens", "Channels", "Appointments", "Webhooks", "Devices" })
        {
            Assert.Contains(text, dom, StringComparison.Ordinal);
        }

        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot was saved");
    }

    [Fact]
    public async Task TheDocsPageRequestsNothingBeyondTheServiceShowsNoCloudButtonsAndARealTokenExample()
    {
        Chromium.Require();
        var app = await fixture.StartAsync();
        var page = new Uri(app.BaseAddress, "docs/#tag/tokens").ToString();
        var netLog = Path.Combine(Directory.CreateTempSubdirectory("docs-netlog-").FullName, "net.json");

        // Chromium's net log records every request, including those that fail (this machine has no internet).
        var dom = WebUtility.HtmlDecode(await Chromium.RunAsync(
            ["--virtual-time-budget=20000", "--window-size=1400,1800", $"--log-net-log={netLog}", "--dump-dom", page], TimeSpan.FromSeconds(90)));
        var requested = PageRequests(netLog, app.BaseAddress);

        Assert.Contains(requested, url => url.AbsolutePath == "/openapi/v1.json");
        Assert.All(requested, url => Assert.True(url.IsLoopback, $"the page requested {url} (beyond the service)"));
        foreach (var cloud in new[] { "Ask AI", "Agent", "Generate SDK", "Deploy", "Open API Client" })
        {
            Assert.DoesNotContain(cloud, dom, StringComparison.Ordinal);
        }

        Assert.Contains("\"userId\": \"vet-1\"", dom, StringComparison.Ordinal);
        Assert.DoesNotContain("\"userId\": null", dom, StringComparison.Ordinal);
    }

    /// <summary>
    /// The URLs the page asked for: its navigation and every request made from a document under the page's site (it has
    /// an initiator). Chromium's own calls (update checks, accounts, autofill hints about the page's forms) have no
    /// initiator and are not the page's doing.
    /// </summary>
    private static List<Uri> PageRequests(string netLog, Uri pageAddress)
    {
        using var log = JsonDocument.Parse(File.ReadAllText(netLog));
        var startJob = log.RootElement.GetProperty("constants").GetProperty("logEventTypes").GetProperty("URL_REQUEST_START_JOB").GetInt32();
        var site = $"{pageAddress.Scheme}://{pageAddress.Host}";
        var urls = new List<Uri>();
        foreach (var entry in log.RootElement.GetProperty("events").EnumerateArray())
        {
            if (entry.GetProperty("type").GetInt32() == startJob
                && entry.TryGetProperty("params", out var parameters)
                && parameters.TryGetProperty("url", out var url)
                && parameters.TryGetProperty("network_isolation_key", out var key)
                && key.GetString()!.StartsWith(site + " ", StringComparison.Ordinal)
                && (parameters.GetProperty("initiator").GetString() != "not an origin" || parameters.GetProperty("request_type").GetString() == "main frame"))
            {
                urls.Add(new Uri(url.GetString()!));
            }
        }

        return urls;
    }

    [Fact]
    public async Task OutsideDevelopmentTheDocumentAndPageAreOffUnlessEnabled()
    {
        await using var off = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        await using var on = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Docs:Enabled"] = "true" });

        Assert.Equal(HttpStatusCode.Unauthorized, (await off.AnonymousClient().GetAsync("/openapi/v1.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await on.AnonymousClient().GetAsync("/openapi/v1.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await on.AnonymousClient().GetAsync("/docs/")).StatusCode);
    }

    private static string Normalise(string route)
    {
        var path = System.Text.RegularExpressions.Regex.Replace(route, "{([^:}]+)(:[^}]*)?}", "{$1}");
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }
}
