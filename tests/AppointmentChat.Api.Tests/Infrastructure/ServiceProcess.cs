using System.Diagnostics;
using System.Text;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// The service as a separate OS process (the built AppointmentChat.Api.dll), for what only a real
/// process shows: start-up refusals, exit codes, command-line commands, being killed.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private ServiceProcess(Process process) => _process = process;

    public string StandardOutput { get { lock (_stdout) { return _stdout.ToString(); } } }

    public string StandardError { get { lock (_stderr) { return _stderr.ToString(); } } }

    public int Id => _process.Id;

    public static ServiceProcess Start(IDictionary<string, string?> environment, string workingDirectory, params string[] args)
    {
        var apiDll = Path.Combine(AppContext.BaseDirectory, "AppointmentChat.Api.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(apiDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Start from a clean slate: nothing inherited from the test runner decides the outcome.
        foreach (var key in new[] { "JWT_SECRET", "STREAM_API_KEY", "STREAM_API_SECRET", "STREAM_CHAT_URL", "DATABASE_URL", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "ASPNETCORE_URLS" })
        {
            start.Environment.Remove(key);
        }

        // Tests run on SQLite in Production too (the tests that a production start refuses SQLite unasked set it null).
        start.Environment["Database__UseSqlite"] = "true";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var service = new ServiceProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (service._stdout) { service._stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (service._stderr) { service._stderr.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Runs the process to completion and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The address a service started with <see cref="StartServiceAsync"/> listens on.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>SIGKILL: no chance to finish anything.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM: the way an orchestrator stops a container.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>
    /// Starts the service on a loopback port (a free one unless given, e.g. to restart where Stream's webhooks go) and waits
    /// until it has started: /health/live answers from the moment it listens, other paths 503 until its database is migrated.
    /// </summary>
    public static async Task<ServiceProcess> StartServiceAsync(IDictionary<string, string?> environment, string workingDirectory, TimeSpan? timeout = null, int? port = null)
    {
        port ??= FreePort();
        var all = new Dictionary<string, string?>(environment) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" };
        var service = Start(all, workingDirectory);
        service.BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        using var http = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            if (service.HasExited)
            {
                throw new InvalidOperationException($"The service exited at start: {service.StandardError}{service.StandardOutput}");
            }

            try
            {
                if ((await http.GetAsync("health/live")).IsSuccessStatusCode
                    && (await http.GetAsync("")).StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
                {
                    return service;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The service did not start: {service.StandardError}");
            }

            await Task.Delay(100);
        }
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
