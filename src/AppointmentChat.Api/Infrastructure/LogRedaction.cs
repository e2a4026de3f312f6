using System.Text.RegularExpressions;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// Keeps credentials out of every log line, whatever wrote it and at whatever level: the values of query parameters
/// that carry them (<c>authorization=</c>, as the Stream SDK's WebSocket connect sends its user token; <c>access_token=</c>
/// and the like) and anything shaped like a JWT. ASP.NET Core's own request lines log the whole query string at
/// Information; so do other libraries at Debug. Every logger provider is wrapped (console, OpenTelemetry); a line with
/// nothing to hide goes through untouched.
/// </summary>
internal static partial class LogRedaction
{
    public const string Redacted = "[redacted]";

    /// <summary>Wraps each logger provider registered so far: call it once every provider is added.</summary>
    public static IHostApplicationBuilder RedactCredentialsInLogs(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(ILoggerProvider) || descriptor.IsKeyedService)
            {
                continue;
            }

            services[i] = ServiceDescriptor.Describe(typeof(ILoggerProvider), sp => new RedactingLoggerProvider(Create(sp, descriptor)), descriptor.Lifetime);
        }

        return builder;
    }

    /// <summary>The text with every credential replaced; the same instance when there is none.</summary>
    public static string Redact(string text) =>
        MayHoldCredential(text) ? Jwt().Replace(CredentialParameter().Replace(text, "$1" + Redacted), Redacted) : text;

    public static bool MayHoldCredential(string text) =>
        text.Contains("eyJ", StringComparison.Ordinal) || CredentialParameter().IsMatch(text);

    private static ILoggerProvider Create(IServiceProvider services, ServiceDescriptor descriptor) => (ILoggerProvider)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(services)
        ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));

    /// <summary>A query parameter whose value is a credential: the name (kept) and the value (replaced).</summary>
    [GeneratedRegex(@"([?&](?:authorization|access_token|id_token|refresh_token|token|client_secret|api_secret|password|signature)=)[^&#\s""']*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CredentialParameter();

    /// <summary>A JWT (header, payload, signature; the header always begins <c>eyJ</c>, base64url of <c>{"</c>).</summary>
    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    private sealed class RedactingLoggerProvider(ILoggerProvider inner) : ILoggerProvider, ISupportExternalScope
    {
        public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => (inner as ISupportExternalScope)?.SetScopeProvider(scopeProvider);

        public void Dispose() => inner.Dispose();
    }

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            var values = state as IReadOnlyList<KeyValuePair<string, object?>>;
            if (!MayHoldCredential(message) && (values is null || !values.Any(v => v.Value is string s && MayHoldCredential(s))))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            // The line's values as text, credentials replaced; the message template kept, so structured sinks still group by it.
            List<KeyValuePair<string, object?>> redacted = values is null
                ? []
                : [.. values.Select(v => v.Key == "{OriginalFormat}" || v.Value is not string text ? v : new KeyValuePair<string, object?>(v.Key, Redact(text)))];
            var line = Redact(message);
            inner.Log(logLevel, eventId, redacted, exception, (_, _) => line);
        }
    }
}
