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
