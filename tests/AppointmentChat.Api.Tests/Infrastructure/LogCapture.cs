using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>Keeps every log line the app writes, formatted with its exception, for tests to search.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyCollection<LogLine> Lines => _lines;

    /// <summary>Sees each line as it is written (the app's <see cref="LeakGuard"/>).</summary>
    public Action<LogLine>? Observer { get; set; }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    public sealed record LogLine(string Category, LogLevel Level, string Message, string? Exception)
    {
        public override string ToString() => $"{Level} {Category}: {Message} {Exception}";
    }

    private sealed class Logger(string category, LogCapture capture) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new LogLine(category, logLevel, formatter(state, exception), exception?.ToString());
            capture._lines.Enqueue(line);
            capture.Observer?.Invoke(line);
        }
    }
}
