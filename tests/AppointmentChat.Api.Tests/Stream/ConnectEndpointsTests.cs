using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>GET /api/chat/config and POST /api/chat/token/revoke, against the emulator as Stream.</summary>
public sealed class ConnectEndpointsTests(SqliteWithEmulator fixture) : IClassFixture<SqliteWithEmulator>
{
    [Fact]
    public async Task ConfigGivesTheApiKeyAndStreamUrlButNeverTheSecret()
    {
        var stack = await fixture.StartAsync();
        var response = await stack.App.ClientFor("owner-1", "pet-owner").GetAsync("/api/chat/config");

        var text = await response.Content.ReadAsStringAsync();
        var body = await response.ShouldBeOkJsonAsync();
        Assert.Equal(ChatApp.StreamApiKey, body.GetProperty("apiKey").GetString());
        Assert.Equal(stack.Emulator.BaseUrl.ToString().TrimEnd('/'), body.GetProperty("baseUrl").GetString());
        Assert.DoesNotContain(ChatApp.StreamSecret, text, StringComparison.Ordinal);
        await (await stack.App.AnonymousClient().GetAsync("/api/chat/config")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task RevokingMakesStreamRefuseTheTokensIssuedBefore()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var owner = Ids.New("owner");
        var client = stack.App.ClientFor(owner, "pet-owner");
        var issued = await (await client.PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync();
        var streamToken = issued.GetProperty("token").GetString()!;
        var query = new JsonObject { ["filter_conditions"] = new JsonObject() };
        Assert.Equal(201, (await stack.Emulator.CallAsync(HttpMethod.Post, "channels", query, streamToken)).Status);

        var revoked = await (await client.PostJsonAsync("/api/chat/token/revoke", new { })).ShouldBeOkJsonAsync();

        Assert.Equal(owner, revoked.GetProperty("userId").GetString());
        var (status, body, _) = await stack.Emulator.CallAsync(HttpMethod.Post, "channels", new JsonObject { ["filter_conditions"] = new JsonObject() }, streamToken);
        Assert.Equal((401, 40), (status, body["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task OnlyTheServiceMayRevokeSomeoneElsesTokens()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var victim = Ids.New("owner");

        await (await stack.App.ClientFor(Ids.New("owner"), "pet-owner").PostJsonAsync("/api/chat/token/revoke", new { userId = victim })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await stack.App.ClientFor("admin-1", "admin", "clinic-1").PostJsonAsync("/api/chat/token/revoke", new { userId = victim })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        Assert.Null(stack.Emulator.Store.FindUser(victim));

        await (await stack.App.ClientFor("pms", "service").PostJsonAsync("/api/chat/token/revoke", new { userId = victim })).ShouldBeOkJsonAsync();
        Assert.NotNull(stack.Emulator.Store.FindUser(victim)!.RevokeTokensIssuedBefore);
    }

    [Fact]
    public async Task RevokingAUserStreamHasNeverSeenCreatesItWhateverTheRefusalSays()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var stranger = Ids.New("owner");
        // Stream refuses the revocation with an input error whose wording names nothing; the user is missing all the same.
        stack.Emulator.Faults.Add(new FaultRule { Status = 400, Method = "PATCH", PathContains = "/users", Times = 1 });

        await (await stack.App.ClientFor(stranger, "pet-owner").PostJsonAsync("/api/chat/token/revoke", new { })).ShouldBeOkJsonAsync();

        Assert.NotNull(stack.Emulator.Store.FindUser(stranger)!.RevokeTokensIssuedBefore);
    }

    [Fact]
    public async Task ARefusedRevocationOfAUserStreamHasIsNotAnsweredByRecreatingIt()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var owner = Ids.New("owner");
        await stack.Emulator.CallAsync(HttpMethod.Post, "users", new JsonObject { ["users"] = new JsonObject { [owner] = new JsonObject { ["id"] = owner, ["name"] = "Kept Name" } } });
        // Refused twice: the revocation and its one retry once the look-up found the user (it could have been created by a
        // concurrent revocation meanwhile).
        stack.Emulator.Faults.Add(new FaultRule { Status = 400, Method = "PATCH", PathContains = "/users", Times = 2 });

        await (await stack.App.ClientFor(owner, "pet-owner").PostJsonAsync("/api/chat/token/revoke", new { })).ShouldBeProblemAsync(HttpStatusCode.BadGateway);

        var user = stack.Emulator.Store.FindUser(owner)!;
        Assert.Equal("Kept Name", user.Custom["name"]!.GetValue<string>());
        Assert.Null(user.RevokeTokensIssuedBefore);
    }

    [Fact]
    public async Task AStreamRefusalBecomes502WithStreamsMessage()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        var owner = Ids.New("owner");
        await stack.Emulator.CallAsync(HttpMethod.Post, "users", new JsonObject { ["users"] = new JsonObject { [owner] = new JsonObject { ["id"] = owner } } });
        stack.Emulator.Faults.Add(new FaultRule { Status = 400, PathContains = "/users", Times = 2 }); // the revocation and its look-up

        var response = await stack.App.ClientFor(owner, "pet-owner").PostJsonAsync("/api/chat/token/revoke", new { });

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadGateway);
        Assert.Contains("injected fault", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamRateLimitingBecomes503WithRetryAfter()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        stack.Emulator.Faults.Add(new FaultRule { Status = 429, PathContains = "/users", ResetInSeconds = 40, Times = 1 });

        var response = await stack.App.ClientFor(Ids.New("owner"), "pet-owner").PostJsonAsync("/api/chat/token/revoke", new { });

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 30, 41);
    }

    [Fact]
    public async Task AStreamThatKeepsFailingOrHangingBecomes503WithinTheTimeBudget()
    {
        var stack = await fixture.StartAsync();
        stack.Emulator.Faults.Clear();
        try
        {
            stack.Emulator.Faults.Add(new FaultRule { Status = 500, PathContains = "/users", Times = 0 });
            var failing = await stack.App.ClientFor(Ids.New("owner"), "pet-owner").PostJsonAsync("/api/chat/token/revoke", new { });
            await failing.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);

            stack.Emulator.Faults.Clear();
            stack.Emulator.Faults.Add(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 4000, PathContains = "/users", Times = 0 });
            var started = DateTime.UtcNow;
            var hanging = await stack.App.ClientFor(Ids.New("owner"), "pet-owner").PostJsonAsync("/api/chat/token/revoke", new { });
            await hanging.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(8));
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }
}

/// <summary>Without STREAM_API_KEY the service is its own Stream, under /stream.</summary>
public sealed class EmbeddedEmulatorTests
{
    private static Dictionary<string, string?> WithoutStream(string? folder = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["STREAM_API_KEY"] = null,
            ["STREAM_API_SECRET"] = null,
            ["STREAM_CHAT_URL"] = null,
        };
        if (folder is not null)
        {
            settings["Storage:DataFolder"] = folder;
        }

        return settings;
    }

    [Fact]
    public async Task TheServiceHostsTheEmulatorUnderStreamAndSaysSoInOneLogLine()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, WithoutStream());
        var client = app.ClientFor(Ids.New("owner"), "pet-owner");

        var config = await (await client.GetAsync("/api/chat/config")).ShouldBeOkJsonAsync();
        Assert.Equal("local", config.GetProperty("apiKey").GetString());
        Assert.Equal(new Uri(app.BaseAddress, "stream").ToString(), config.GetProperty("baseUrl").GetString());

        // A round trip through the embedded Stream API.
        await (await client.PostJsonAsync("/api/chat/token/revoke", new { })).ShouldBeOkJsonAsync();
        var line = Assert.Single(app.Logs.Lines, l => l.Message.Contains("built-in emulator", StringComparison.Ordinal));
        Assert.Contains("/stream", line.Message, StringComparison.Ordinal);
        Assert.Contains("/api/webhooks/stream", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheGeneratedStreamSecretIsKeptInTheDataFolderAcrossRestarts()
    {
        var folder = Directory.CreateTempSubdirectory("appointment-chat-secret-").FullName;
        string first, second;
        await using (var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, WithoutStream(folder)))
        {
            first = (await (await app.ClientFor("vet-1", "vet").PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync()).GetProperty("token").GetString()!;
        }

        var secret = await File.ReadAllTextAsync(Path.Combine(folder, "stream-emulator.secret"));
        await using (var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, WithoutStream(folder)))
        {
            second = (await (await app.ClientFor("vet-1", "vet").PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync()).GetProperty("token").GetString()!;
        }

        foreach (var token in new[] { first, second })
        {
            var parts = token.Split('.');
            var signature = System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
            Assert.Equal(System.Buffers.Text.Base64Url.EncodeToString(signature), parts[2]);
        }
    }

    [Fact]
    public async Task WithARealStreamKeyNothingIsServedUnderStream()
    {
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite);

        var response = await app.AnonymousClient().PostAsync("/stream/users?api_key=local", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode); // the fallback policy: not an emulator route
    }
}

/// <summary>The emulator as its own process, with its one documented command.</summary>
public sealed class StandaloneEmulatorTests
{
    [Fact]
    public async Task RunsStandaloneWithPortKeyAndSecretFromTheCommandLine()
    {
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "AppointmentChat.StreamEmulator.dll");
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", [dll, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--api-key", EmulatorHost.ApiKey, "--api-secret", EmulatorHost.Secret])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            HttpResponseMessage? response = null;
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"users?api_key={EmulatorHost.ApiKey}")
                    {
                        Content = new StringContent("""{"users":{"u1":{"id":"u1"}}}""", System.Text.Encoding.UTF8, "application/json"),
                    };
                    request.Headers.TryAddWithoutValidation("Authorization", EmulatorHost.ServerToken);
                    request.Headers.TryAddWithoutValidation("Stream-Auth-Type", "jwt");
                    response = await http.SendAsync(request);
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the standalone emulator to listen", TimeSpan.FromSeconds(30));

            Assert.Equal(HttpStatusCode.Created, response!.StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task KeepsItsStreamAppInItsStateFileAcrossAKillAndResetEmptiesIt()
    {
        var stateFile = Path.Combine(Directory.CreateTempSubdirectory("appointment-chat-emulator-").FullName, "state.json");
        var port = FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        using (var first = StartStandalone(port, stateFile))
        {
            try
            {
                Assert.Equal(HttpStatusCode.Created, await WhenListeningAsync(() => SendAsync(http, HttpMethod.Post, "users", """{"users":{"kept":{"id":"kept","name":"Kept"}}}""")));
                await Eventually.TrueAsync(() => Task.FromResult(File.Exists(stateFile)), "the state file to be written", TimeSpan.FromSeconds(10));
            }
            finally
            {
                first.Kill(entireProcessTree: true); // no chance to write anything more on the way out
                await first.WaitForExitAsync();
            }
        }

        using var second = StartStandalone(port, stateFile);
        try
        {
            Assert.Equal("Kept", await WhenListeningAsync(() => QueryUserAsync(http, "kept")));

            Assert.Equal(HttpStatusCode.OK, await SendAsync(http, HttpMethod.Post, "_emulator/reset", "{}"));
            Assert.Null(await QueryUserAsync(http, "kept"));
        }
        finally
        {
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
        }
    }

    private static System.Diagnostics.Process StartStandalone(int port, string stateFile) =>
        System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", [
            Path.Combine(AppContext.BaseDirectory, "AppointmentChat.StreamEmulator.dll"), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--api-key", EmulatorHost.ApiKey, "--api-secret", EmulatorHost.Secret, "--state-file", stateFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;

    private static async Task<T> WhenListeningAsync<T>(Func<Task<T>> call)
    {
        T result = default!;
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                result = await call();
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the standalone emulator to listen", TimeSpan.FromSeconds(30));
        return result;
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient http, HttpMethod method, string path, string json)
    {
        using var request = new HttpRequestMessage(method, $"{path}?api_key={EmulatorHost.ApiKey}")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", EmulatorHost.ServerToken);
        request.Headers.TryAddWithoutValidation("Stream-Auth-Type", "jwt");
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>The user's name, by Stream's query users (<c>GET /users?payload=…</c>); null when there is no such user.</summary>
    private static async Task<string?> QueryUserAsync(HttpClient http, string id)
    {
        var payload = Uri.EscapeDataString(new JsonObject { ["filter_conditions"] = new JsonObject { ["id"] = new JsonObject { ["$in"] = new JsonArray(id) } } }.ToJsonString());
        using var request = new HttpRequestMessage(HttpMethod.Get, $"users?api_key={EmulatorHost.ApiKey}&payload={payload}");
        request.Headers.TryAddWithoutValidation("Authorization", EmulatorHost.ServerToken);
        request.Headers.TryAddWithoutValidation("Stream-Auth-Type", "jwt");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var users = (await response.Content.ReadFromJsonAsync<JsonObject>())!["users"]!.AsArray();
        return users.SingleOrDefault()?["name"]?.GetValue<string>();
    }

    [Fact]
    public async Task RefusesToStartWithoutASecret()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "AppointmentChat.StreamEmulator.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [dll, "--port", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment.Remove("STREAM_API_SECRET");
        using var process = System.Diagnostics.Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("--api-secret", error, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
