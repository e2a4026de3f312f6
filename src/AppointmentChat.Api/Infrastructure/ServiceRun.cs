namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// Serving until shut down. A start that fails for a reason an operator can fix (the port is taken, the database cannot
/// be reached or migrated) ends with one line on standard error and exit code 1, not a stack trace.
/// </summary>
internal static class ServiceRun
{
    /// <summary>The host's category: it logs a failed start with the exception's stack trace, which the one line replaces.</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>Leaves out the host's own report of a failed start (the service prints one line instead).</summary>
    public static IHostApplicationBuilder AddStartReport(this IHostApplicationBuilder builder)
    {
        var report = new StartReport();
        builder.Services.AddSingleton(report);
        // Its own rule (the most specific one wins): the host says nothing below Warning that an operator needs.
        builder.Logging.AddFilter(HostCategory, level => level >= LogLevel.Warning && (report.HasStarted || level < LogLevel.Error));
        return builder;
    }

    /// <summary>Starts (Kestrel listens, then the database is migrated and the workers start), then serves until shut down.</summary>
    public static async Task<int> RunChatServiceAsync(this WebApplication app)
    {
        try
        {
            await app.StartAsync();
        }
        catch (Exception ex) when (FailedStart(ex) is { } line)
        {
            Console.Error.WriteLine(line);
            return 1;
        }
        catch (OperationCanceledException) when (app.Lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return 0; // stopped (SIGTERM) while starting
        }
        finally
        {
            app.Services.GetService<StartReport>()?.Started();
        }

        await app.WaitForShutdownAsync();
        return 0;
    }

    private static string? FailedStart(Exception exception) => exception switch
    {
        StartupFailure failure => failure.Message,
        IOException bind when bind.Message.StartsWith("Failed to bind to address", StringComparison.Ordinal) => $"Start-up error: {bind.Message}",
        FormatException url when url.Message.StartsWith("Invalid url", StringComparison.Ordinal) => $"Start-up error: ASPNETCORE_URLS: {url.Message}",
        System.Net.Sockets.SocketException socket => $"Start-up error: cannot listen where ASPNETCORE_URLS says: {socket.Message}",
        _ => null,
    };

    private sealed class StartReport
    {
        private volatile bool _hasStarted;

        public bool HasStarted => _hasStarted;

        public void Started() => _hasStarted = true;
    }
}

/// <summary>A start that cannot go on, told in one line: no stack trace, even where the host logs it.</summary>
internal sealed class StartupFailure(string message) : Exception(message)
{
    public override string? StackTrace => null;

    public override string ToString() => Message;
}
