using System.Collections.Concurrent;

namespace Relay.LoadGen;

/// <summary>
/// Counts by reason, from any thread, with a cap on distinct reasons (a server that put a changing value in every
/// refusal would otherwise grow it without bound): past <see cref="MaxReasons"/>, new ones count as <see cref="Other"/>.
/// </summary>
internal sealed class ReasonCounter
{
    /// <summary>Distinct reasons kept. 32.</summary>
    public const int MaxReasons = 32;

    /// <summary>Where reasons past the cap are counted.</summary>
    public const string Other = "other reasons";

    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>All counted so far.</summary>
    public int Total => Volatile.Read(ref _total);

    public void Add(string reason)
    {
        if (_counts.Count >= MaxReasons && !_counts.ContainsKey(reason))
        {
            reason = Other;
        }

        _counts.AddOrUpdate(reason, 1, static (_, n) => n + 1);
        Interlocked.Increment(ref _total);
    }

    /// <summary>The counts, most frequent first.</summary>
    public Dictionary<string, int> Snapshot() =>
        _counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>The most frequent reason, or null when nothing was counted.</summary>
    public string? Top() => _counts.IsEmpty ? null : _counts.MaxBy(kv => kv.Value).Key;
}
