using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Infrastructure;

internal static partial class ServiceDefaults
{
    /// <summary>Largest request body any endpoint accepts unless it sets its own limit.</summary>
    public const long MaxRequestBodyBytes = 1024 * 1024;

    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.AddStartReport();

        // AddAuthentication registers Data Protection, which this service never uses (bearer tokens only);
        // without this its key-ring warnings would greet every start.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);

        // Outside Development: one JSON object per line, with the request id and trace id (from the scopes).
        if (!builder.Environment.IsDevelopment())
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddJsonConsole(options =>
            {
                options.IncludeScopes = true;
                options.UseUtcTimestamp = true;
                options.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            });
        }

        // On SIGTERM: stop taking requests, let in-flight ones (webhooks included) finish, then stop the workers.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(20));
        builder.Services.TryAddSingleton<DataFolder>();
        builder.Services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.Section)
            .Validate(o => o.LeaseDuration >= TimeSpan.FromSeconds(1) && o.LeaseDuration <= TimeSpan.FromHours(1), "Workers__LeaseDuration must be between 00:00:01 and 01:00:00.")
            .ValidateOnStart();
        builder.Services.Configure<KestrelServerOptions>(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
        });
        return builder;
    }

    /// <summary>
    /// Checks every setting before anything else reads one: each problem is printed on one line and
    /// the caller exits with code 1.
    /// </summary>
    public static bool HasValidSettings(this WebApplication app)
    {
        try
        {
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            return true;
        }
        catch (Exception ex) when (ConfigurationFailures(ex) is { Count: > 0 } failures)
        {
            foreach (var failure in failures)
            {
                Console.Error.WriteLine($"Configuration error: {failure}");
            }

            return false;
        }
    }

    /// <summary>
    /// The settings at fault, each once (an options class that reads another repeats the other's failures). A value
    /// that cannot be read as its setting's type is named, never echoed.
    /// </summary>
    internal static List<string> ConfigurationFailures(Exception exception) => exception switch
    {
        OptionsValidationException options => [.. options.Failures.Distinct()],
        AggregateException aggregate => [.. aggregate.InnerExceptions.SelectMany(ConfigurationFailures).Distinct()],
        InvalidOperationException conversion when UnreadableValue().Match(conversion.Message) is { Success: true } match =>
            [$"{match.Groups["path"].Value.Replace(":", "__", StringComparison.Ordinal)} is not {Expected(match.Groups["type"].Value)}."],
        _ => [],
    };

    private static string Expected(string type) => type switch
    {
        "System.TimeSpan" => "a duration ([d.]hh:mm:ss, e.g. 00:30:00)",
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Double" or "System.Decimal" => "a number (e.g. 0.8)",
        "System.Boolean" => "true or false",
        _ => $"a valid {type.Split('.')[^1]}",
    };

    [GeneratedRegex(@"^Failed to convert configuration value (?:'.*' )?at '(?<path>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex UnreadableValue();
}
