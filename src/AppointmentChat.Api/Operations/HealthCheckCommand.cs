namespace AppointmentChat.Api.Operations;

/// <summary>
/// The <c>healthcheck</c> command, for a container image without curl: asks the instance on this machine, on the
/// port it is configured to listen on, for <c>/health/live</c> (or <c>/health/ready</c> with <c>--ready</c>); exits 0
/// when it answers 200, otherwise prints one line and exits 1.
/// </summary>
internal static class HealthCheckCommand
{
    public const string Name = "healthcheck";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(IConfiguration configuration, string[] args)
    {
        // Any other argument is configuration (--urls …), read by the builder.
        var path = args.Contains("--ready", StringComparer.Ordinal) ? Health.ReadyPath : Health.LivePath;
        if (LocalAddress(configuration) is not { } address)
        {
            Console.Error.WriteLine("unhealthy: no http:// address to call in ASPNETCORE_URLS or ASPNETCORE_HTTP_PORTS.");
            return 1;
        }

        var url = new Uri(address, path);
        using var http = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await http.GetAsync(url);
            if (response.IsSuccessStatusCode)
            {
                Console.Out.WriteLine($"healthy: {url} answered {(int)response.StatusCode}");
                return 0;
            }

            Console.Error.WriteLine($"unhealthy: {url} answered {(int)response.StatusCode}");
            return 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"unhealthy: {url} did not answer ({ex.Message})");
            return 1;
        }
    }

    /// <summary>
    /// Where the instance listens, over loopback: the first http address of <c>urls</c> (<c>ASPNETCORE_URLS</c>,
    /// <c>--urls</c>) with a wildcard host made 127.0.0.1, else the first of <c>http_ports</c>, else ASP.NET Core's default 5000.
    /// </summary>
    internal static Uri? LocalAddress(IConfiguration configuration)
    {
        var urls = configuration["urls"];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            var http = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
            if (http is null)
            {
                return null;
            }

            var wildcard = http.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal);
            if (!Uri.TryCreate(wildcard, UriKind.Absolute, out var parsed))
            {
                return null;
            }

            var local = new UriBuilder(parsed) { Path = "/" };
            if (local.Host is "0.0.0.0" or "[::]" or "::" or "localhost")
            {
                local.Host = "127.0.0.1";
            }

            return local.Uri;
        }

        var ports = configuration["http_ports"];
        if (!string.IsNullOrWhiteSpace(ports))
        {
            return int.TryParse(ports.Split(';')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture, out var port)
                ? new Uri($"http://127.0.0.1:{port}/")
                : null;
        }

        return new Uri("http://127.0.0.1:5000/");
    }
}
