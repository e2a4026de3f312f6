using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>
/// The OpenAPI document is the apps' client contract: every real answer of a whole scenario (over HTTP, real JWTs, the
/// emulator as Stream) has a documented status and a body valid against the schema documented for it.
/// </summary>
public sealed class ApiContractTests(ApiContractService fixture) : IClassFixture<ApiContractService>
{
    [Fact]
    public async Task EveryAnswerOfARealScenarioHasADocumentedStatusAndABodyValidByItsSchema()
    {
        var stack = await fixture.StartAsync();
        var app = stack.App;
        var contract = await ApiContract.LoadAsync(app);
        var s = Scenario.New();
        var pms = app.ClientFor("pms", "service");
        var owner = app.ClientFor(s.PetOwnerId, "pet-owner");
        var vet = app.ClientFor(s.VetId, "vet");
        var stranger = app.ClientFor(Ids.New("stranger"), "pet-owner");
        var check = contract.Check;

        // Tokens and config, each call by a caller of its own: the token limit (3 a minute here) counts them all.
        HttpClient Caller() => app.ClientFor(Ids.New("caller"), "pet-owner");
        await check(await Caller().PostAsJsonAsync("/api/chat/token", new { }));
        await check(await Caller().PostAsJsonAsync("/api/chat/token", new { userId = s.VetId }));
        await check(await Caller().PostAsJsonAsync("/api/chat/token", new { userId = "not a stream id!" }));
        await check(await Caller().PostAsJsonAsync("/api/chat/token", new { userId = s.PetOwnerId, extra = 1 }));
        await check(await app.AnonymousClient().PostAsJsonAsync("/api/chat/token", new { }));
        await check(await app.ClientWithToken("not-a-jwt").PostAsJsonAsync("/api/chat/token", new { }));
        await check(await Caller().PostAsync("/api/chat/token", new StringContent("{}", Encoding.UTF8, "text/plain")));

        // Asks before sending the body, so the 413 comes back before a body the server will not read is sent.
        var tooLarge = new HttpRequestMessage(HttpMethod.Post, "/api/chat/token") { Content = new StringContent(new string(' ', 1_100_000) + "{}", Encoding.UTF8, "application/json") };
        tooLarge.Headers.ExpectContinue = true;
        await check(await Caller().SendAsync(tooLarge));
        var burst = Caller();
        for (var i = 0; i < 4; i++)
        {
            await check(await burst.PostAsJsonAsync("/api/chat/token", new { }));
        }

        await check(await owner.GetAsync("/api/chat/config"));
        await check(await owner.PostAsJsonAsync("/api/chat/token/revoke", new { }));

        // The PMS pushes the appointment; people read it.
        var start = DateTimeOffset.UtcNow.AddMinutes(2);
        await check(await pms.PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(start)));
        await check(await pms.PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(start, duration: 45)));
        var noDuration = s.Facts(start);
        noDuration.Remove("durationMinutes");
        await check(await pms.PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", noDuration));
        await check(await app.ClientFor("admin-x", "admin", "another-clinic").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(start)));
        await check(await owner.GetAsync($"/api/appointments/{s.AppointmentId}"));
        await check(await stranger.GetAsync($"/api/appointments/{s.AppointmentId}"));

        // The chat: created, refused, listed before and after a message, ended.
        await check(await s.CreateChatAsync(owner));
        await check(await s.CreateChatAsync(owner));
        await check(await s.CreateChatAsync(stranger));
        await check(await s.CreateChatAsync(pms, new { appointmentId = Ids.New("missing") }));
        await check(await s.CreateChatAsync(owner, new { appointmentId = s.AppointmentId, vetId = "someone-else" }));
        await check(await s.CreateChatAsync(owner, new { appointmentId = "" }));
        await check(await owner.GetAsync("/api/chat/channels"));
        await check(await vet.GetAsync("/api/chat/channels?role=vet&status=active&limit=1"));
        await check(await owner.GetAsync("/api/chat/channels?limit=abc"));
        await check(await app.AnonymousClient().GetAsync("/api/chat/channels"));

        var webhooks = app.AnonymousClient();
        var message = StreamWebhook.MessageNew(s.ChannelId, s.VetId, "See you soon", members: [s.PetOwnerId, s.VetId]);
        var webhookId = Guid.NewGuid().ToString();
        await check(await webhooks.SendAsync(StreamWebhook.Request(message, webhookId)));
        await check(await webhooks.SendAsync(StreamWebhook.Request(message, webhookId)));
        await check(await webhooks.SendAsync(StreamWebhook.Request(message, signature: new string('0', 64))));
        await check(await webhooks.SendAsync(StreamWebhook.Request("[1]")));
        await Eventually.TrueAsync(
            async () => (await (await owner.GetAsync("/api/chat/channels")).Content.ReadAsStringAsync()).Contains("See you soon", StringComparison.Ordinal),
            "the message to reach the chat list");
        await check(await owner.GetAsync("/api/chat/channels"));

        await check(await s.EndAsync(owner));
        await check(await s.EndAsync(vet));
        await check(await s.EndAsync(vet));
        await check(await pms.PostAsync("/api/chat/channels/appointment-nothing-here/end", null));
        await check(await pms.PostAsync("/api/chat/channels/not-a-chat/end", null));
        await check(await pms.GetAsync($"/api/appointments/{s.AppointmentId}"));

        // Devices.
        var device = new { token = "fcm-" + Guid.NewGuid().ToString("N"), platform = "android" };
        await check(await owner.PostAsJsonAsync("/api/devices", device));
        await check(await owner.PostAsJsonAsync("/api/devices", device));
        await check(await owner.PostAsJsonAsync("/api/devices", new { token = device.token, platform = "blackberry" }));
        await check(await app.ClientFor(new string('x', 100), "pet-owner").PostAsJsonAsync("/api/devices", device));
        await check(await owner.DeleteAsync($"/api/devices/{device.token}"));
        await check(await owner.DeleteAsync($"/api/devices/{device.token}"));
        await check(await owner.DeleteAsync("/api/devices/has%20space"));

        // Operators.
        await check(await pms.GetAsync("/api/webhooks/dead?limit=5"));
        await check(await pms.GetAsync("/api/webhooks/dead?limit=0"));
        await check(await owner.GetAsync("/api/webhooks/dead"));
        await check(await pms.PostAsync("/api/webhooks/dead/999999999/retry", null));
        await check(await pms.PostAsync("/api/webhooks/catch-up", null));
        var ops = app.ClientFor(Ids.New("ops"), "operator");
        foreach (var list in new[] { "webhooks", "chats", "pushes", "transcripts", "audit" })
        {
            await check(await ops.GetAsync($"/api/operator/{list}?limit=5"));
            await check(await ops.GetAsync($"/api/operator/{list}?limit=0"));
            await check(await vet.GetAsync($"/api/operator/{list}"));
        }

        foreach (var action in new[] { "retry", "discard" })
        {
            await check(await ops.PostAsync($"/api/operator/webhooks/999999999/{action}", null));
            await check(await ops.PostAsync($"/api/operator/pushes/999999999/{action}", null));
            await check(await ops.PostAsync($"/api/operator/transcripts/999999999/{action}", null));
            await check(await ops.PostAsync($"/api/operator/chats/{s.AppointmentId}/{action}", null));
            await check(await ops.PostAsync($"/api/operator/chats/not%20an%20id/{action}", null));
        }

        // Stream refusing (502), then failing with a wait it names (503 with Retry-After).
        var refused = Scenario.New();
        await refused.PushAsync(app, start);
        try
        {
            stack.Emulator.Faults.Add(new FaultRule { Status = 400, Times = 0 });
            await check(await refused.CreateChatAsync(app.ClientFor(refused.PetOwnerId, "pet-owner")));
            stack.Emulator.Faults.Clear();
            stack.Emulator.Faults.Add(new FaultRule { Status = 503, RetryAfterSeconds = 20, Times = 0 });
            await check(await refused.CreateChatAsync(app.ClientFor(refused.PetOwnerId, "pet-owner")));
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }

        Assert.True(contract.Failures.Count == 0, string.Join("\n", contract.Failures));
        string[] covered =
        [
            "createToken 200", "createToken 400", "createToken 401", "createToken 403", "createToken 413", "createToken 415", "createToken 429",
            "getChatConfig 200", "revokeTokens 200",
            "putAppointment 201", "putAppointment 200", "putAppointment 400", "putAppointment 403", "getAppointment 200", "getAppointment 404",
            "getOrCreateAppointmentChannel 200", "getOrCreateAppointmentChannel 400", "getOrCreateAppointmentChannel 403",
            "getOrCreateAppointmentChannel 404", "getOrCreateAppointmentChannel 409", "getOrCreateAppointmentChannel 502", "getOrCreateAppointmentChannel 503",
            "listChats 200", "listChats 400", "listChats 401",
            "receiveStreamWebhook 200", "receiveStreamWebhook 400", "receiveStreamWebhook 401",
            "endChat 200", "endChat 400", "endChat 403", "endChat 404",
            "registerDevice 201", "registerDevice 200", "registerDevice 400", "registerDevice 403",
            "unregisterDevice 204", "unregisterDevice 404", "unregisterDevice 400",
            "listDeadWebhooks 200", "listDeadWebhooks 400", "listDeadWebhooks 403", "retryDeadWebhook 404", "requestCatchUp 202",
            "listOperatorWebhooks 200", "listOperatorWebhooks 400", "listOperatorWebhooks 403", "listOperatorChats 200", "listOperatorChats 400",
            "listOperatorPushes 200", "listOperatorPushes 400", "listOperatorActions 200", "listOperatorActions 400", "listOperatorActions 403",
            "retryOperatorWebhook 404", "discardOperatorWebhook 404", "retryOperatorPush 404", "discardOperatorPush 404",
            "retryOperatorChat 404", "retryOperatorChat 400", "discardOperatorChat 404", "discardOperatorChat 400",
        ];
        Assert.Empty(covered.Except(contract.Seen));
    }

    [Fact]
    public async Task EveryOperationHasAnIdEveryQueryParameterATypeAndEvery429And503ARetryAfterHeader()
    {
        var app = (await fixture.StartAsync()).App;
        var contract = await ApiContract.LoadAsync(app);
        var ids = new List<string>();
        var queryTypes = new Dictionary<string, string>();
        var retryAfters = 0;
        foreach (var (method, path, operation) in contract.Operations)
        {
            Assert.True(operation.TryGetProperty("operationId", out var id) && System.Text.RegularExpressions.Regex.IsMatch(id.GetString()!, "^[a-z]+([A-Z][a-z]+)*$"),
                $"{method} {path} has no camelCase operationId");
            ids.Add(id.GetString()!);
            foreach (var parameter in operation.TryGetProperty("parameters", out var parameters) ? parameters.EnumerateArray() : default)
            {
                var schema = parameter.GetProperty("schema");
                Assert.True(schema.TryGetProperty("type", out var type), $"{id} parameter {parameter.GetProperty("name")} has no type");
                if (parameter.GetProperty("in").GetString() == "query")
                {
                    queryTypes[$"{id} {parameter.GetProperty("name").GetString()}"] = type.GetString() + (schema.TryGetProperty("enum", out _) ? " enum" : "");
                }
            }

            foreach (var response in operation.GetProperty("responses").EnumerateObject().Where(r => r.Name is "429" or "503"))
            {
                Assert.True(response.Value.TryGetProperty("headers", out var headers) && headers.GetProperty("Retry-After").GetProperty("schema").GetProperty("type").GetString() == "integer",
                    $"{id} {response.Name} documents no Retry-After");
                retryAfters++;
            }
        }

        Assert.Equal(34, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Contains("createToken", ids);
        Assert.Contains("getOrCreateAppointmentChannel", ids);
        Assert.Contains("endChat", ids);
        Assert.Contains("listChats", ids);
        Assert.Contains("getOrganisationSettings", ids);
        Assert.Contains("putOrganisationSettings", ids);
        Assert.Equal(new Dictionary<string, string>
        {
            ["listChats role"] = "string enum",
            ["listChats status"] = "string enum",
            ["listChats limit"] = "integer",
            ["listChats cursor"] = "string",
            ["listChats organisationId"] = "string",
            ["getChatTranscript format"] = "string enum",
            ["listChats unread"] = "string enum",
            ["listDeadWebhooks limit"] = "integer",
            ["listOperatorWebhooks limit"] = "integer",
            ["listOperatorChats limit"] = "integer",
            ["listOperatorPushes limit"] = "integer",
            ["listOperatorTranscripts limit"] = "integer",
            ["listOperatorActions limit"] = "integer",
        }, queryTypes);
        Assert.True(retryAfters >= 34 + 28, $"only {retryAfters} answers with 429 or 503"); // every operation can answer 429; twenty-eight 503
    }

    [Fact]
    public async Task EveryExampleInTheDocumentIsValidByTheSchemaBesideIt()
    {
        var contract = await ApiContract.LoadAsync((await fixture.StartAsync()).App);
        var examples = 0;
        foreach (var (method, path, operation) in contract.Operations)
        {
            var bodies = operation.GetProperty("responses").EnumerateObject().Select(r => (r.Name, Body: r.Value))
                .Concat(operation.TryGetProperty("requestBody", out var request) ? [("request", request)] : []);
            foreach (var (name, body) in bodies.Where(b => b.Body.TryGetProperty("content", out _)))
            {
                foreach (var media in body.GetProperty("content").EnumerateObject())
                {
                    Assert.True(media.Value.TryGetProperty("example", out var example), $"{method} {path} {name} {media.Name} has no example");
                    Assert.Empty(contract.Validate(media.Value.GetProperty("schema"), example));
                    examples++;
                }
            }
        }

        Assert.True(examples > 100, $"{examples} examples");
    }

    [Fact]
    public async Task TheValidatorRefusesWhatTheDocumentDoesNotAllow()
    {
        var contract = await ApiContract.LoadAsync((await fixture.StartAsync()).App);
        var schemas = contract.Document.GetProperty("components").GetProperty("schemas");
        JsonElement Ref(string name) => JsonDocument.Parse($$"""{"$ref":"#/components/schemas/{{name}}"}""").RootElement;
        JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;
        Assert.True(schemas.TryGetProperty("ChannelListItem", out _));

        var item = """{"id":"appointment-a","name":"Chat with A","members":["o","v"],"appointmentId":"a","status":"active","activatesAt":"2030-01-15T12:55:00.000Z","closesAt":"2030-01-15T14:00:00.000Z"}""";
        Assert.Empty(contract.Validate(Ref("ChannelListItem"), Json(item)));
        Assert.NotEmpty(contract.Validate(Ref("ChannelListItem"), Json(item.Replace("\"status\"", "\"lastMessage\":null,\"status\"", StringComparison.Ordinal)))); // the service writes no null
        Assert.NotEmpty(contract.Validate(Ref("ChannelListItem"), Json(item.Replace("\"active\"", "\"open\"", StringComparison.Ordinal))));
        Assert.NotEmpty(contract.Validate(Ref("ChannelListItem"), Json(item.Replace("2030-01-15T14:00:00.000Z", "tomorrow", StringComparison.Ordinal))));
        Assert.NotEmpty(contract.Validate(Ref("ChannelListItem"), Json(item.Replace("\"name\":\"Chat with A\",", "", StringComparison.Ordinal))));
        Assert.NotEmpty(contract.Validate(Ref("TokenResponse"), Json("""{"token":"t","expiresAt":"1795564361000"}""")));

        var problem = """{"status":404,"detail":"Nothing here.","traceId":"00-1-2-00","code":"not-found","error":"Nothing here."}""";
        Assert.Empty(contract.Validate(Ref("ProblemDetails"), Json(problem)));
        Assert.NotEmpty(contract.Validate(Ref("ProblemDetails"), Json(problem.Replace("\"traceId\":\"00-1-2-00\",", "", StringComparison.Ordinal))));
        Assert.NotEmpty(contract.Validate(Ref("ProblemDetails"), Json(problem.Replace("not-found", "Not Found", StringComparison.Ordinal))));
        Assert.NotEmpty(contract.Validate(Ref("ProblemDetails"), Json(problem.Replace(",\"code\":\"not-found\"", "", StringComparison.Ordinal))));
        Assert.NotEmpty(contract.Validate(Ref("ProblemDetails"), Json(problem.Replace(",\"error\":\"Nothing here.\"", "", StringComparison.Ordinal))));
        Assert.NotEmpty(contract.Validate(Ref("ProblemDetails"), Json(problem.Replace("}", ",\"errors\":{}}", StringComparison.Ordinal))));
        Assert.NotEmpty(contract.Validate(Ref("HttpValidationProblemDetails"), Json(problem.Replace("}", ",\"errors\":{\"f\":\"x\"}}", StringComparison.Ordinal))));

        // An answer with a status the operation does not list is a failure of its own.
        var teapot = new HttpResponseMessage(HttpStatusCode.Conflict)
        {
            RequestMessage = new HttpRequestMessage(HttpMethod.Get, new Uri("http://127.0.0.1/api/chat/config")),
            Content = new StringContent(problem, Encoding.UTF8, "application/problem+json"),
        };
        await contract.Check(teapot);
        Assert.Contains(contract.Failures, f => f.StartsWith("getChatConfig: answered 409", StringComparison.Ordinal));
    }
}

/// <summary>The service and an emulator, with a token limit low enough for a scenario to reach it.</summary>
public sealed class ApiContractService() : StackFixture(DatabaseKind.Sqlite)
{
    protected override async Task<ServiceWithEmulator> CreateAsync() => Own(await ServiceWithEmulator.StartAsync(Kind, new Dictionary<string, string?>
    {
        ["RateLimiting:Token:PermitLimit"] = "3",
        ["RateLimiting:Token:WindowSeconds"] = "60",
    }));
}
