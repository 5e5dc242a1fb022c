using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;
using Relay.Contracts.Control;

namespace Relay.Gateway.Security;

/// <summary>
/// The relay's Under Attack mode: on or off, and what switched it. An operator (admin API) or the core (an
/// <c>under-attack</c> order) switches it either way, and such a mode stays until one of them ends it. With
/// <see cref="UnderAttackOptions.AutoTrigger"/> it also switches on by itself when, in one sample, new connections or
/// refused connections per second reach their upper threshold, and an automatic mode ends once both rates stayed
/// below their lower thresholds for <see cref="UnderAttackOptions.OffAfter"/> (hysteresis: no flapping around one
/// threshold). One client (an IPv4 address, an IPv6 /64) adds at most
/// <see cref="UnderAttackOptions.RefusedPerAddressPerSecond"/> refusals a second to the refused rate. Time comes from the
/// registered <see cref="TimeProvider"/>.
/// </summary>
internal sealed partial class UnderAttackMode : IDisposable
{
    /// <summary>Switched by the gateway's admin API.</summary>
    public const string Operator = "operator";

    /// <summary>Switched by an order from the core.</summary>
    public const string Core = "core";

    /// <summary>Switched by the connection rates.</summary>
    public const string Auto = "auto";

    private readonly UnderAttackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, long> _refusals = new(StringComparer.Ordinal);
    private readonly Edge.ClientRate? _perClient; // refusals one client may add to the trigger
    private volatile State _state = new(false, null, null, null);
    private long _connections, _refused;
    private long _lastSample;
    private DateTimeOffset? _quietSince;

    public UnderAttackMode(IOptions<UnderAttackOptions> options, TimeProvider time, ILogger<UnderAttackMode> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _lastSample = time.GetTimestamp();
        _perClient = _options.RefusedPerAddressPerSecond > 0 ? new Edge.ClientRate(_options.RefusedPerAddressPerSecond, _options.RefusedPerAddressPerSecond, time) : null;
        _timer = time.CreateTimer(static m => ((UnderAttackMode)m!).Sample(), this, _options.SampleInterval, _options.SampleInterval);
    }

    /// <summary>True while new sessions must solve a challenge.</summary>
    public bool IsOn => _state.On;

    /// <summary>A new connection (counted for the automatic trigger).</summary>
    public void ConnectionOpened() => Interlocked.Increment(ref _connections);

    /// <summary>A connection refused before admission whose client is unknown, e.g. at Kestrel's limits (counted for the automatic trigger).</summary>
    public void Refused() => Interlocked.Increment(ref _refused);

    /// <summary>A connection refused before admission, e.g. by the connection gate: counted for the automatic trigger
    /// within its client's share (<see cref="UnderAttackOptions.RefusedPerAddressPerSecond"/>); null: an unknown client.</summary>
    public void Refused(IPAddress? client)
    {
        if (client is null || _perClient is null || _perClient.TryTake(client))
        {
            Interlocked.Increment(ref _refused);
        }
    }

    /// <summary>An admission this mode or the rate limits refused: counted by reason, and for the trigger within its
    /// client's share.</summary>
    public void Refused(string reason, IPAddress? client = null)
    {
        Refused(client);
        _refusals.AddOrUpdate(reason, 1, static (_, n) => n + 1);
    }

    /// <summary>Admissions refused so far, by reason.</summary>
    public IReadOnlyDictionary<string, long> Refusals() => _refusals.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>Switches the mode on or off; <paramref name="source"/> is <see cref="Operator"/>, <see cref="Core"/> or <see cref="Auto"/>.</summary>
    public void Set(bool on, string source, string reason)
    {
        lock (_gate)
        {
            var previous = _state;
            _state = new State(on, source, reason, _time.GetUtcNow());
            _quietSince = null;
            if (previous.On != on)
            {
                Log.Switched(_logger, on ? "on" : "off", source, reason);
            }
        }
    }

    /// <summary>The mode as /status and the health report show it.</summary>
    public UnderAttackStatus Describe()
    {
        var s = _state;
        return new UnderAttackStatus(s.On, s.Source, s.Trigger, s.Since, _options.Difficulty, Refusals());
    }

    /// <summary>One sample of the rates: called every <see cref="UnderAttackOptions.SampleInterval"/>.</summary>
    internal void Sample()
    {
        long now = _time.GetTimestamp();
        double seconds = Math.Max(_time.GetElapsedTime(_lastSample, now).TotalSeconds, 1e-3);
        _lastSample = now;
        double connections = Interlocked.Exchange(ref _connections, 0) / seconds;
        double refused = Interlocked.Exchange(ref _refused, 0) / seconds;
        if (!_options.AutoTrigger)
        {
            return;
        }

        lock (_gate)
        {
            var state = _state;
            if (!state.On)
            {
                if (Reached(connections, _options.NewConnectionsPerSecondOn))
                {
                    Set(true, Auto, $"new connections {connections:F0}/s ≥ {_options.NewConnectionsPerSecondOn}/s");
                }
                else if (Reached(refused, _options.RefusedPerSecondOn))
                {
                    Set(true, Auto, $"refused connections {refused:F0}/s ≥ {_options.RefusedPerSecondOn}/s");
                }

                return;
            }

            if (state.Source != Auto)
            {
                return; // an operator's or the core's mode ends only by their word
            }

            bool quiet = Below(connections, _options.NewConnectionsPerSecondOn, _options.NewConnectionsOff) && Below(refused, _options.RefusedPerSecondOn, _options.RefusedOff);
            var utcNow = _time.GetUtcNow();
            if (!quiet)
            {
                _quietSince = null;
                return;
            }

            _quietSince ??= utcNow - _options.SampleInterval; // the quiet started with this sample's interval
            if (utcNow - _quietSince.Value >= _options.OffAfter)
            {
                Set(false, Auto, $"connection rates below {_options.NewConnectionsOff}/s new and {_options.RefusedOff}/s refused for {_options.OffAfter.TotalSeconds:F0} s");
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private static bool Reached(double rate, int threshold) => threshold > 0 && rate >= threshold;

    private static bool Below(double rate, int on, int off) => on == 0 || rate < off;

    private sealed record State(bool On, string? Source, string? Trigger, DateTimeOffset? Since);
}
