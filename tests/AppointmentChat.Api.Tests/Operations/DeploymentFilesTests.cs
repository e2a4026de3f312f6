using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using AppointmentChat.Api.Tests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>
/// docker-compose.yml and the proxy's deploy/nginx.conf. There is no Docker engine here: the compose file is read as
/// YAML (merge keys resolved, as Compose does) and its promises checked; the proxy's config is checked by nginx itself
/// (<c>nginx -t</c>) and run for real in front of the service.
/// </summary>
public sealed class DeploymentFilesTests
{
    private static readonly string[] ServiceNames = ["appointment-chat", "appointment-chat-emulator"];
    private static readonly string[] NginxCandidates = ["/usr/sbin/nginx", "/usr/bin/nginx"];

    [Fact]
    public void TheEmulatorProfileRunsTheServiceOnItsBuiltInEmulatorWithoutAStreamAccount()
    {
        var emulator = Service("appointment-chat-emulator");
        var environment = Map(emulator["environment"]);

        Assert.Equal(["emulator"], List(emulator["profiles"]));
        Assert.Equal("Production", environment["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("true", environment["Stream__UseEmulator"]);
        Assert.False(environment.ContainsKey("STREAM_API_KEY"), "with a STREAM_API_KEY the service would call Stream rather than host the emulator");
        Assert.Equal("1", Map(emulator["deploy"])["replicas"]);
        // Where the apps reach the emulator: through the proxy, on the port it is published on.
        Assert.Equal("${STREAM_EMULATOR_PUBLIC_URL:-http://localhost:${PROXY_PORT:-8080}/stream}", environment["Stream__EmulatorPublicUrl"]);
    }

    [Fact]
    public void WithStreamSeveralInstancesRunBehindTheProxyAndTrustItsForwardedHeaders()
    {
        var stream = Service("appointment-chat");
        var environment = Map(stream["environment"]);

        Assert.Equal(["stream"], List(stream["profiles"]));
        Assert.True(int.Parse((string)Map(stream["deploy"])["replicas"], System.Globalization.CultureInfo.InvariantCulture) >= 2);
        Assert.Contains("STREAM_API_KEY", environment.Keys);
        Assert.False(environment.ContainsKey("Stream__UseEmulator"));
        foreach (var name in ServiceNames)
        {
            var service = Service(name);
            Assert.Equal("true", Map(service["environment"])["ASPNETCORE_FORWARDEDHEADERS_ENABLED"]);
            Assert.Contains("chat-upstream", List(Map(Map(service["networks"])["default"])["aliases"]));
        }

        var proxy = File.ReadAllText(NginxConfig());
        Assert.Matches(@"proxy_set_header X-Forwarded-For \$remote_addr;", proxy);
        Assert.Matches(@"proxy_set_header X-Forwarded-Proto \$scheme;", proxy);
        Assert.Matches(@"set \$chat http://chat-upstream:8080;", proxy);
    }

    [Fact]
    public void OnlyTheProxyIsPublishedSoNeitherTheServiceNorItsMetricsAreReachableFromTheHost()
    {
        var services = Map(Compose()["services"]);
        var published = services.Where(s => Map(s.Value).ContainsKey("ports")).Select(s => (string)s.Key).ToList();

        Assert.Equal(["proxy"], published);
        Assert.Equal(["${PROXY_PORT:-8080}:8080"], List(Map(services["proxy"])["ports"]));
        Assert.Contains("./deploy/nginx.conf:/etc/nginx/nginx.conf:ro", List(Map(services["proxy"])["volumes"]));
        foreach (var name in ServiceNames)
        {
            Assert.False(Service(name).ContainsKey("expose"));
        }
    }

    [Fact]
    public void EveryInstanceWaitsForAHealthyPostgreSql15TheVersionCiTestsOn()
    {
        var postgres = Service("postgres");

        Assert.Matches(@"^postgres:15(\.\d+)*(-[a-z0-9.]+)?$", (string)postgres["image"]);
        Assert.Contains("pg_isready", string.Join(' ', List(Map(postgres["healthcheck"])["test"])));
        foreach (var name in ServiceNames)
        {
            var dependsOn = Map(Service(name)["depends_on"]);
            Assert.Equal("service_healthy", Map(dependsOn["postgres"])["condition"]);
            Assert.Contains("@postgres:5432/", (string)Map(Service(name)["environment"])["DATABASE_URL"], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NginxAcceptsTheProxyConfigAndRoutesTheApiStreamAndHealthButNotMetrics()
    {
        var nginx = RequireNginx();
        // As in the emulator profile: the built-in emulator under /stream, forwarded headers trusted.
        await using var app = await ChatApp.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["STREAM_API_KEY"] = null,
            ["STREAM_API_SECRET"] = null,
            ["FORWARDEDHEADERS_ENABLED"] = "true",
        });
        var folder = Directory.CreateTempSubdirectory("nginx-").FullName;
        Assert.Equal(0, (await RunAsync(nginx, ["-t", "-q", "-e", "stderr", "-p", folder, "-c", NginxConfig()])).ExitCode);

        // The committed config, with the instances' address and the listening port those of this machine.
        var port = FreePort();
        var config = File.ReadAllText(NginxConfig())
            .Replace("http://chat-upstream:8080", $"http://127.0.0.1:{app.BaseAddress.Port}", StringComparison.Ordinal)
            .Replace("listen 8080;", $"listen 127.0.0.1:{port};", StringComparison.Ordinal)
            .Replace("pid /tmp/nginx.pid;", $"pid {folder}/nginx.pid;", StringComparison.Ordinal);
        var local = Path.Combine(folder, "nginx.conf");
        File.WriteAllText(local, config);
        using var proxy = Process.Start(new ProcessStartInfo(nginx, ["-e", "stderr", "-p", folder, "-c", local, "-g", "daemon off;"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _ = proxy.StandardOutput.ReadToEndAsync();
        _ = proxy.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await WaitForAsync(http);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/chat/config") { Headers = { Authorization = new("Bearer", TestJwt.For("vet-1", "vet")) } };
            var config_ = await http.SendAsync(request);
            var emulator = await http.GetAsync("/stream/app?api_key=local");

            // The apps are sent to the emulator through the proxy (its Host is passed on).
            Assert.Equal($"http://127.0.0.1:{port}/stream", (await config_.ShouldBeOkJsonAsync()).GetProperty("baseUrl").GetString());
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, emulator.StatusCode);
            Assert.Equal("application/json", emulator.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.OK, (await app.AnonymousClient().GetAsync("/metrics")).StatusCode);
            foreach (var path in new[] { "/metrics", "/metrics/", "/api/../metrics", "/api/%2e%2e/metrics", "//metrics", "/" })
            {
                Assert.Equal(404, await RawStatusAsync(port, path));
            }
        }
        finally
        {
            proxy.Kill(entireProcessTree: true);
            await proxy.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task ThePublishedServiceCarriesNoneOfEfCoresDesignTimeAssemblies()
    {
        // dotnet publish --no-build from the build these tests run on: the files the image gets, in seconds. Roslyn,
        // MSBuild and Humanizer serve only `dotnet ef` (the Design package is referenced with PrivateAssets="all").
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var output = Directory.CreateTempSubdirectory("publish-").FullName;
        var project = Path.Combine(Repository.Root(), "src", "AppointmentChat.Api", "AppointmentChat.Api.csproj");

        var (exitCode, log) = await RunAsync("dotnet", ["publish", project, "--no-build", "-c", configuration, "-o", output, "--nologo", "-v", "q"]);

        Assert.True(exitCode == 0, log);
        var files = Directory.GetFiles(output).Select(Path.GetFileName).ToList();
        Assert.Contains("AppointmentChat.Api.dll", files);
        Assert.Contains("Microsoft.EntityFrameworkCore.Relational.dll", files);
        var designTime = new Regex(@"^(Microsoft\.CodeAnalysis|Microsoft\.Build|Humanizer|Microsoft\.EntityFrameworkCore\.Design|Mono\.TextTemplating)");
        Assert.DoesNotContain(files, f => designTime.IsMatch(f!));
        Assert.DoesNotMatch(@"Microsoft\.CodeAnalysis|Humanizer|Microsoft\.EntityFrameworkCore\.Design", File.ReadAllText(Path.Combine(output, "AppointmentChat.Api.deps.json")));
        Directory.Delete(output, recursive: true);
    }

    private static string RequireNginx()
    {
        if (NginxCandidates.FirstOrDefault(File.Exists) is { } path)
        {
            return path;
        }

        const string message = "nginx is not installed (Debian package 'nginx-light'); .ci/run installs it.";
        if (TestDatabase.InCi)
        {
            throw new InvalidOperationException("CI=true requires nginx: " + message);
        }

        Assert.Skip(message);
        return "";
    }

    /// <summary>The status of a GET of <paramref name="path"/> sent as written (HttpClient would resolve dot segments first).</summary>
    private static async Task<int> RawStatusAsync(int port, string path)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync() ?? "";
        return int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task WaitForAsync(HttpClient http)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await http.GetAsync("/health/live");
                return;
            }
            catch (HttpRequestException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Dictionary<object, object> Compose()
    {
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Repository.Root(), "docker-compose.yml")));
        return (Dictionary<object, object>)new DeserializerBuilder().Build().Deserialize(new MergingParser(new Parser(reader)))!;
    }

    private static Dictionary<object, object> Service(string name) => Map(Map(Compose()["services"])[name]);

    private static Dictionary<object, object> Map(object node) => Assert.IsType<Dictionary<object, object>>(node);

    private static List<string> List(object node) => [.. Assert.IsType<List<object>>(node).Cast<string>()];

    private static string NginxConfig() => Path.Combine(Repository.Root(), "deploy", "nginx.conf");
}
