using System.Collections;
using Microsoft.Extensions.Logging;

namespace Relay.Contracts.Logging;

/// <summary>
/// A framework logger whose entries have their <c>access_token=</c> values redacted, message and state alike, and whose
/// entries of one event are at most <see cref="MaxEntriesPerWindow"/> per <see cref="Window"/> (a flood guard: what a
/// client makes a framework log, it can make it log without end; one HTTP/2 rapid-reset connection made Kestrel log 91
/// Critical entries with their stack traces). The entries beyond it are counted, and the next entry of that event after
/// the window says how many were not logged.
/// </summary>
internal sealed class RedactingLogger(ILogger inner, TimeProvider time) : ILogger
{
    internal const int MaxEntriesPerWindow = 20;

    internal static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly Dictionary<int, (long Start, int Count, int Dropped)> _windows = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel) || !Admit(eventId.Id, out int dropped))
        {
            return;
        }

        if (dropped > 0)
        {
            string note = $"{dropped} more entries of event {eventId.Id} were not logged in {Window.TotalSeconds:F0} s (flood guard: at most {MaxEntriesPerWindow} per event per {Window.TotalSeconds:F0} s)";
            inner.Log(LogLevel.Warning, eventId, note, null, static (s, _) => s);
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

    /// <summary>Whether an entry of event <paramref name="id"/> is logged now; <paramref name="dropped"/>: how many of the
    /// window before this one were not.</summary>
    private bool Admit(int id, out int dropped)
    {
        long now = time.GetTimestamp();
        lock (_windows)
        {
            _windows.TryGetValue(id, out var window);
            if (window.Start == 0 || time.GetElapsedTime(window.Start, now) >= Window)
            {
                dropped = window.Dropped;
                _windows[id] = (now, 1, 0);
                return true;
            }

            dropped = 0;
            bool admitted = window.Count < MaxEntriesPerWindow;
            _windows[id] = admitted ? window with { Count = window.Count + 1 } : window with { Dropped = window.Dropped + 1 };
            return admitted;
        }
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
