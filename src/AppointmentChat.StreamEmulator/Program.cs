namespace AppointmentChat.StreamEmulator;

// Standalone Stream emulator:
//   dotnet run --project src/AppointmentChat.StreamEmulator -- --port 8090 --api-key key --api-secret secret --webhook-url http://127.0.0.1:5080/api/webhooks/stream
// or the same through the environment: PORT, STREAM_API_KEY, STREAM_API_SECRET, WEBHOOK_URL.
// Its Stream app is kept in data/stream-emulator.json (under the folder it runs in) across restarts;
// --state-file PATH (or EMULATOR_STATE_FILE) keeps it elsewhere, --state-file memory nowhere.
// (A named class rather than top-level statements, so it does not clash with the service's Program.)
internal static class EmulatorProgram
{
    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        var config = builder.Configuration;
        var port = config["port"] ?? config["PORT"] ?? "8090";
        var apiKey = config["api-key"] ?? config["STREAM_API_KEY"] ?? "local";
        var apiSecret = config["api-secret"] ?? config["STREAM_API_SECRET"];
        var webhookUrl = config["webhook-url"] ?? config["WEBHOOK_URL"];
        var stateFile = config["state-file"] ?? config["EMULATOR_STATE_FILE"] ?? Path.Combine("data", "stream-emulator.json");
        if (string.IsNullOrEmpty(apiSecret))
        {
            Console.Error.WriteLine("Configuration error: --api-secret (or STREAM_API_SECRET) is required: it signs webhooks and verifies tokens.");
            return 1;
        }

        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddStreamEmulator(settings =>
        {
            settings.ApiKey = apiKey;
            settings.ApiSecret = apiSecret;
            settings.WebhookUrl = string.IsNullOrEmpty(webhookUrl) ? null : new Uri(webhookUrl);
            settings.StateFile = stateFile == "memory" ? null : Path.GetFullPath(stateFile, builder.Environment.ContentRootPath);
            settings.EnforceRateLimits = config.GetValue("enforce-rate-limits", true);
            if (config["webhook-retry-delay-ms"] is { } retryDelay)
            {
                settings.WebhookRetryDelay = TimeSpan.FromMilliseconds(double.Parse(retryDelay, System.Globalization.CultureInfo.InvariantCulture));
            }

            if (config["webhook-max-attempts"] is { } maxAttempts)
            {
                settings.WebhookMaxAttempts = int.Parse(maxAttempts, System.Globalization.CultureInfo.InvariantCulture);
            }
        });

        var app = builder.Build();
        app.UseCors();
        app.MapStreamEmulator();
        Console.WriteLine($"Stream emulator on http://127.0.0.1:{port} (api key {apiKey}); webhooks to {webhookUrl ?? "nowhere"}; "
            + (stateFile == "memory" ? "state in memory only" : $"state kept in {Path.GetFullPath(stateFile, builder.Environment.ContentRootPath)}"));
        await app.RunAsync();
        return 0;
    }
}
