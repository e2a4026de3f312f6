using StackExchange.Redis;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>The Redis server named by TEST_REDIS_URL (default redis://127.0.0.1:6379); skips without one, except under CI=true.</summary>
public static class RedisServer
{
    public static string Url => Environment.GetEnvironmentVariable("TEST_REDIS_URL") is { Length: > 0 } url ? url : "redis://127.0.0.1:6379";

    private static readonly Lazy<Task<string?>> Problem = new(async () =>
    {
        try
        {
            var options = ConfigurationOptions.Parse(new Uri(Url).Authority);
            options.ConnectTimeout = 2000;
            options.AbortOnConnectFail = true;
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            await connection.GetDatabase().PingAsync();
            return null;
        }
        catch (Exception ex) when (ex is RedisException or UriFormatException or TimeoutException)
        {
            return ex.Message;
        }
    });

    public static async Task RequireAsync()
    {
        if (await Problem.Value is not { } problem)
        {
            return;
        }

        var message = $"Redis is not reachable at {Url} ({problem}); .ci/run installs and starts redis-server.";
        if (TestDatabase.InCi)
        {
            throw new InvalidOperationException("CI=true requires Redis: " + message);
        }

        Assert.Skip(message);
    }
}

/// <summary>
/// A redis-server of the test's own on a free loopback port, to stop and start again (the shared one stays up for
/// other tests). Skips without the redis-server binary, except under CI=true.
/// </summary>
public sealed class OwnRedis : IAsyncDisposable
{
    private System.Diagnostics.Process? _process;

    private OwnRedis(int port) => Port = port;

    public int Port { get; }

    public string Url => $"redis://127.0.0.1:{Port}";

    public static async Task<OwnRedis> StartAsync()
    {
        if (!File.Exists("/usr/bin/redis-server") && !File.Exists("/usr/local/bin/redis-server"))
        {
            const string message = "redis-server is not installed; .ci/run installs it.";
            if (TestDatabase.InCi)
            {
                throw new InvalidOperationException("CI=true requires redis-server: " + message);
            }

            Assert.Skip(message);
        }

        var redis = new OwnRedis(FreePort.Next());
        await redis.StartAgainAsync();
        return redis;
    }

    /// <summary>Starts the server (again, after <see cref="Stop"/>) and waits until it answers PING.</summary>
    public async Task StartAgainAsync()
    {
        _process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("redis-server",
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                var options = ConfigurationOptions.Parse($"127.0.0.1:{Port}");
                options.ConnectTimeout = 500;
                await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
                await connection.GetDatabase().PingAsync();
                return true;
            }
            catch (RedisException)
            {
                return false;
            }
        }, $"redis-server on port {Port}");
    }

    /// <summary>Kills the server at once (SIGKILL), as a crash would.</summary>
    public void Stop()
    {
        _process?.Kill();
        _process?.WaitForExit();
        _process?.Dispose();
        _process = null;
    }

    public async Task<bool> HasKeyAsync(string key)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port}");
        return await connection.GetDatabase().KeyExistsAsync(key);
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A TCP listener that accepts connections and never answers a byte: a Redis that hangs.</summary>
public sealed class SilentListener : IDisposable
{
    private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
    private readonly List<System.Net.Sockets.Socket> _accepted = [];
    private readonly CancellationTokenSource _stop = new();

    public SilentListener()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                lock (_accepted)
                {
                    _accepted.Add(socket);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (System.Net.Sockets.SocketException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_accepted)
        {
            _accepted.ForEach(socket => socket.Dispose());
        }

        _stop.Dispose();
    }
}

public static class FreePort
{
    /// <summary>A loopback port nothing listens on (the system's pick, released at once).</summary>
    public static int Next()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
