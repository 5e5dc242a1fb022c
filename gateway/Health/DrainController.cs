using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.Contracts.Sessions;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Health;

/// <summary>
/// Drains the relay: first stop accepting (readiness 503, agent "drain"), then close existing
/// sessions with 4001 in jittered batches, all of them by the deadline. Refuses to take out the
/// last healthy relay of the fleet (as the core last described it) unless forced. Also acts on
/// the core's orders (<see cref="DrainOrder"/>, <see cref="UndrainOrder"/>, <see cref="FleetView"/>).
/// </summary>
internal sealed partial class DrainController
{
    private readonly SessionRegistry _sessions;
    private readonly HealthOptions _options;
    private readonly string _relayId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private CancellationTokenSource? _moving;
    private string? _source;
    private DateTimeOffset? _started;
    private DateTimeOffset? _finished;
    private int _toMove;
    private int _moved;
    private volatile FleetView? _fleet;
    private Task _finishedTask = Task.CompletedTask;
    private volatile string? _lastCommand;

    public DrainController(SessionRegistry sessions, IOptions<GatewayOptions> options, BackhaulService backhaul, TimeProvider time, ILogger<DrainController> logger)
    {
        _sessions = sessions;
        _options = options.Value.Health;
        _relayId = options.Value.Backhaul.RelayId;
        _time = time;
        _logger = logger;
        backhaul.Pool.CommandReceived += OnCommand;
    }

    public bool IsDraining => _sessions.Draining;

    /// <summary>True when the drain came from the relay's own sickness or the core's policy: it ends by itself when the relay is healthy again.</summary>
    public bool IsAutomatic => _sessions.Draining && Automatic(_source);

    /// <summary>Completes when the current drain has moved every session (or was cancelled).</summary>
    public Task Moving => _finishedTask;

    /// <summary>What the core last said about the fleet: relay id → state; null before the first word.</summary>
    public FleetView? Fleet => _fleet;

    /// <summary>Starts a drain. Returns at once; sessions move in the background.</summary>
    public DrainResult Start(bool force, string source, int closeCode = CloseCodes.Draining, TimeSpan? deadline = null)
    {
        lock (_gate)
        {
            if (_sessions.Draining)
            {
                if (IsAutomatic && !Automatic(source))
                {
                    // An operator's drain over the relay's own (or the core policy's): it must not end when the relay
                    // recovers, so it takes the drain over; the sessions keep moving as they were.
                    _source = source;
                    Log.DrainTakenOver(_logger, source);
                    return new DrainResult(true, $"already draining; now held by {source}: it no longer ends when the relay is healthy again");
                }

                return new DrainResult(true, "already draining");
            }

            if (!force)
            {
                var fleet = _fleet;
                if (fleet is null)
                {
                    return new DrainResult(false, "refused: the fleet view from the core is not known yet, so this may be the last healthy relay; use force");
                }

                int others = fleet.Relays.Count(r => r.Key != _relayId && r.Value is RelayStatus.Healthy or RelayStatus.Degraded);
                if (others == 0)
                {
                    return new DrainResult(false, "refused: this is the last healthy relay of the fleet; use force");
                }
            }

            _sessions.Draining = true;
            _source = source;
            _started = _time.GetUtcNow();
            _finished = null;
            _toMove = _sessions.Count;
            _moved = 0;
            _moving = new CancellationTokenSource();
            var token = _moving.Token;
            Log.DrainStarted(_logger, source, _toMove);
            _finishedTask = Task.Run(() => MoveSessionsAsync(token, closeCode, deadline ?? _options.DrainDeadline), CancellationToken.None);
            return new DrainResult(true, $"draining: moving {_toMove} sessions");
        }
    }

    private static bool Automatic(string? source) => source is not null && (source.StartsWith("self", StringComparison.Ordinal) || source.StartsWith("core-policy", StringComparison.Ordinal));

    /// <summary>Stops a drain: the relay takes sessions again.</summary>
    public void Undrain()
    {
        lock (_gate)
        {
            _moving?.Cancel();
            _moving = null;
            _sessions.Draining = false;
            _source = null;
            Log.Undrained(_logger);
        }
    }

    /// <summary>Records an order from the core and its outcome (e.g. the <see cref="Rebalancer"/>'s), shown as the report's last core command.</summary>
    public void NoteCoreCommand(string outcome) => _lastCommand = outcome;

    /// <summary>The drain's progress, for the health report and /status.</summary>
    public DrainStatus Describe() => new(
        _sessions.Draining,
        _source,
        _started,
        _finished,
        _toMove,
        Volatile.Read(ref _moved),
        _sessions.Draining ? _sessions.Count : 0,
        _lastCommand);

    private async Task MoveSessionsAsync(CancellationToken token, int closeCode, TimeSpan deadline)
    {
        long start = _time.GetTimestamp();
        try
        {
            while (!token.IsCancellationRequested)
            {
                var batch = _sessions.Snapshot().Take(_options.DrainBatchSize).ToList();
                if (batch.Count == 0)
                {
                    break;
                }

                bool pastDeadline = _time.GetElapsedTime(start) >= deadline;
                foreach (var session in pastDeadline ? _sessions.Snapshot() : batch)
                {
                    session.RequestClose(closeCode, closeCode == CloseCodes.Draining ? "relay draining: reconnect now" : "gateway shutting down");
                    Interlocked.Increment(ref _moved);
                }

                // Jitter spreads the reconnects: ±50% around the batch interval.
                var pause = _options.DrainBatchInterval * (0.5 + Random.Shared.NextDouble());
                await Task.Delay(pause, _time, token).ConfigureAwait(false);
                await Task.WhenAll(batch.Select(s => s.Completion)).WaitAsync(_options.DrainBatchTimeout, _time, token).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }

            _finished = _time.GetUtcNow();
            Log.DrainFinished(_logger, Volatile.Read(ref _moved), _time.GetElapsedTime(start).TotalMilliseconds);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnCommand(string name, ReadOnlyMemory<byte> argument)
    {
        if (!ControlCodec.TryDecode(name, argument.Span, out var order))
        {
            // An unknown name is a newer core's order (skipped); a known name with a bad payload is logged.
            if (name is ControlCodec.FleetCommand or ControlCodec.DrainCommand or ControlCodec.UndrainCommand)
            {
                Log.BadCommand(_logger, name);
            }

            return;
        }

        switch (order)
        {
            case DrainOrder drain:
                // Policy: the core's fleet policy (ends by itself once healthy); Force: an operator forcing it; Operator: an operator.
                bool policy = drain.Source == DrainOrderSource.Policy;
                var result = Start(force: drain.Source == DrainOrderSource.Force, policy ? "core-policy: the relay stayed sick" : "core-operator: drain ordered from the fleet view");
                _lastCommand = $"drain: {result.Message}";
                if (!result.Accepted)
                {
                    Log.DrainCommandRefused(_logger, result.Message);
                }

                break;
            case UndrainOrder:
                _lastCommand = "undrain: taking sessions again"; // before the state changes: whoever sees it undrained sees why
                Undrain();
                break;
            case FleetView fleet:
                _fleet = fleet;
                break;
        }
    }
}

/// <summary>Outcome of a drain request.</summary>
public sealed record DrainResult(bool Accepted, string Message);
