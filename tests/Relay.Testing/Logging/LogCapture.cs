using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Relay.Testing.Logging;

/// <summary>Every entry the host logs, as a provider sees it: category, formatted message and state values.</summary>
public sealed class LogCapture : ILoggerProvider
{
    public ConcurrentQueue<string> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
            capture.Entries.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} | {string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"))} | {exception}");
        }
    }
}
