using System.Net;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Demo;

/// <summary>
/// /demo, the browser demo of the chat (Development only). The page itself is driven in headless Chromium
/// by tests/e2e/browser.test.js; here: where it is served, and whom its sign-in can be.
/// </summary>
public sealed class DemoPageTests(SqliteApp fixture) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task TheDemoPageIsServedInDevelopment()
    {
        var app = await fixture.StartAsync();

        var response = await app.AnonymousClient().GetAsync("/demo");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script type=\"module\" src=\"/demo/demo.js\">", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingOfTheDemoIsServedOutsideDevelopment()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        var client = app.AnonymousClient();

        foreach (var path in new[] { "/demo", "/demo/demo.js", "/demo/people" })
        {
            Assert.NotEqual(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        }

        Assert.NotEqual(HttpStatusCode.OK, (await client.PostJsonAsync("/demo/session", new { person = "vet" })).StatusCode);
    }

    [Fact]
    public async Task ADemoSessionIsABearerTokenForOneOfTheDemoPeopleOnly()
    {
        var app = await fixture.StartAsync();
        var anonymous = app.AnonymousClient();

        var session = await (await anonymous.PostJsonAsync("/demo/session", new { person = "vet" })).ShouldBeOkJsonAsync();
        var bearer = session.GetProperty("bearer").GetString()!;
        var claims = JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(bearer.Split('.')[1]))!;
        var token = await (await app.ClientWithToken(bearer).PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync();

        Assert.Equal(("demo-vet", "vet", "demo-clinic"), (claims["sub"]!.GetValue<string>(), claims["role"]!.GetValue<string>(), claims["org"]!.GetValue<string>()));
        Assert.Equal("demo-vet", session.GetProperty("person").GetProperty("userId").GetString());
        Assert.False(string.IsNullOrEmpty(token.GetProperty("token").GetString()));
        await (await anonymous.PostJsonAsync("/demo/session", new { person = "someone-else" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest);
    }
}
