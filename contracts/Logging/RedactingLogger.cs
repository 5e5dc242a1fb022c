using System.Collections;
using Microsoft.Extensions.Logging;

namespace Relay.Contracts.Logging;

/// <summary>A framework logger whose entries have their <c>access_token=</c> values redacted, message and state alike.</summary>
internal sealed class RedactingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }

        string message = formatter(state, exception);
        var values = state as IReadOnlyList<KeyValuePair<string, object?>>;
        if (!AccessTokenRedaction.Carries(message) && (values is null || !values.Any(v => AccessTokenRedaction.Carries(Text(v.Value)))))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
            return;
        }

        inner.Log(logLevel, eventId, new RedactedState(AccessTokenRedaction.Redact(message), values ?? []), exception, static (s, _) => s.Message);
    }

    /// <summary>A value that may carry a URL as text: strings and URIs (YARP logs its target as either).</summary>
    private static string? Text(object? value) => value switch
    {
        string s => s,
        Uri u => u.OriginalString,
        _ => null,
    };

    /// <summary>The entry as structured-logging providers see it: the same names, token values redacted.</summary>
    private sealed class RedactedState(string message, IReadOnlyList<KeyValuePair<string, object?>> values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?>[] _values =
            [.. values.Select(v => Text(v.Value) is { } s ? new KeyValuePair<string, object?>(v.Key, AccessTokenRedaction.Redact(s)) : v)];

        public string Message { get; } = message;

        public int Count => _values.Length;

        public KeyValuePair<string, object?> this[int index] => _values[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Message;
    }
}
