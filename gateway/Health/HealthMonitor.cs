using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Health;

/// <summary>
/// Reads every <see cref="IHealthSignal"/> each interval and folds them into one state with
/// hysteresis: a signal must read worse <see cref="HealthOptions.EnterAfter"/> times in a row to
/// worsen, and better <see cref="HealthOptions.ExitAfter"/> times in a row to recover, so a value
/// oscillating around a threshold does not make the relay flap. Pushes a health report to the core,
/// and drains the relay when it stays sick.
/// </summary>
internal sealed partial class HealthMonitor : BackgroundService
{
    private readonly IHealthSignal[] _signals;
    private readonly HealthOptions _options;
    private readonly GatewayOptions _gateway;
    private readonly DrainController _drain;
    private readonly BackhaulService _backhaul;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Security.UnderAttackMode? _underAttack;
    private readonly Dictionary<string, Tracker> _trackers = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _firstReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile HealthSnapshot _current;
    private DateTimeOffset? _sickSince;
    private string? _selfDrainRefusal;
    private long _lastReport;

    public HealthMonitor(IEnumerable<IHealthSignal> signals, IOptions<GatewayOptions> options, DrainController drain, BackhaulService backhaul, GatewayMetrics metrics, TimeProvider time, ILogger<HealthMonitor> logger, Security.UnderAttackMode? underAttack = null)
    {
        _underAttack = underAttack;
        _signals = signals.ToArray();
        _gateway = options.Value;
        _options = options.Value.Health;
        _drain = drain;
        _backhaul = backhaul;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        foreach (var signal in _signals)
        {
            _trackers[signal.Name] = new Tracker();
        }

        // Until the first evaluation: not ready, because no link has been seen yet.
        _current = new HealthSnapshot(RelayState.Sick, ["starting"], 0, new Dictionary<string, SignalStatus>(), time.GetUtcNow());
    }

    /// <summary>The latest evaluation.</summary>
    public HealthSnapshot Current => _drain.IsDraining ? _current with { State = RelayState.Draining } : _current;

    /// <summary>
    /// Completes at the first evaluation after which /readyz answers 200 (healthy or degraded, not draining): the
    /// moment the relay tells systemd READY=1 (issue 19). Never completes for a relay that never gets ready.
    /// </summary>
    public Task FirstReady => _firstReady.Task;

    /// <summary>Reads all signals once and updates the state. Called by the loop; tests call it directly.</summary>
    public HealthSnapshot Evaluate()
    {
        var statuses = new Dictionary<string, SignalStatus>(StringComparer.Ordinal);
        foreach (var signal in _signals)
        {
            HealthReading reading;
            try
            {
                reading = signal.Read();
            }
            catch (Exception ex)
            {
                reading = new HealthReading(HealthLevel.Sick, $"{signal.Name}: signal failed: {ex.Message}", new Dictionary<string, object?>());
            }

            var tracker = _trackers[signal.Name];
            tracker.Observe(reading, _options);
            statuses[signal.Name] = new SignalStatus(tracker.Level, tracker.Reason, reading);
        }

        var level = statuses.Values.Select(s => s.Level).DefaultIfEmpty(HealthLevel.Healthy).Max();
        var reasons = statuses.Values.Where(s => s.Level == level && level != HealthLevel.Healthy && s.Reason is not null).Select(s => s.Reason!).ToList();
        var state = level switch { HealthLevel.Sick => RelayState.Sick, HealthLevel.Degraded => RelayState.Degraded, _ => RelayState.Healthy };
        double load = Math.Min(1.0, (double)_metrics.Sessions / _options.Capacity);
        int weight = Math.Clamp((int)Math.Round(100 - (99 * load)), 1, 100);
        if (state == RelayState.Degraded)
        {
            weight = Math.Max(1, weight / 2);
        }

        var now = _time.GetUtcNow();
        var previous = _current;
        var since = previous.State == state && previous.Reasons.SequenceEqual(reasons) ? previous.Since : now;
        if (previous.State != state)
        {
            Log.StateChanged(_logger, previous.State, state, string.Join("; ", reasons));
        }

        _current = new HealthSnapshot(state, reasons, weight, statuses, since);
        _sickSince = state == RelayState.Sick ? _sickSince ?? now : null;
        if (state is RelayState.Healthy or RelayState.Degraded && _drain.IsAutomatic)
        {
            // The sickness that drained us is over (hysteresis already demanded ExitAfter good readings).
            Log.Recovered(_logger);
            _drain.Undrain();
        }

        var current = Current;
        if (current.State is RelayState.Healthy or RelayState.Degraded)
        {
            _firstReady.TrySetResult();
        }

        return current;
    }

    /// <summary>The report pushed to the core and shown at /status.</summary>
    public RelayHealthReport Describe()
    {
        var snapshot = Current;
        return new RelayHealthReport(
            _gateway.Backhaul.RelayId,
            _gateway.Backhaul.Region,
            ToStatus(snapshot.State),
            ToStatus(_current.State),
            snapshot.Reasons,
            snapshot.Weight,
            snapshot.Since,
            _metrics.Sessions,
            _drain.Describe(),
            snapshot.Signals.ToDictionary(kv => kv.Key, kv => new SignalReport(ToStatus(kv.Value.Level), kv.Value.Reason, kv.Value.Reading.Values), StringComparer.Ordinal),
            _underAttack?.Describe(),
            string.IsNullOrEmpty(_gateway.Negotiate.PublicUrl) ? null : _gateway.Negotiate.PublicUrl);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.EvaluationInterval, _time);
        try
        {
            await EvaluateLoopAsync(timer, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping (or disposed without a stop): not a failure
        }
    }

    private async Task EvaluateLoopAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        do
        {
            try
            {
                var snapshot = Evaluate();
                MaybeSelfDrain(snapshot);
                long now = _time.GetTimestamp();
                if (_lastReport == 0 || _time.GetElapsedTime(_lastReport, now) >= _options.ReportInterval)
                {
                    _lastReport = now;
                    _backhaul.Pool.SendHealthReport(ControlCodec.EncodeReport(Describe()));
                }
            }
            catch (Exception ex)
            {
                Log.EvaluationFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Drains the relay once it has been sick <see cref="HealthOptions.SelfDrainAfter"/>. Called by the loop after each evaluation; tests call it directly.</summary>
    internal void MaybeSelfDrain(HealthSnapshot snapshot)
    {
        if (_options.SelfDrainAfter <= TimeSpan.Zero || snapshot.State != RelayState.Sick || _sickSince is null)
        {
            _selfDrainRefusal = null;
            return;
        }

        var sick = _time.GetUtcNow() - _sickSince.Value;
        if (sick >= _options.SelfDrainAfter && !_drain.IsDraining)
        {
            var result = _drain.Start(force: false, $"self: sick for {sick.TotalSeconds:F0} s ({string.Join("; ", snapshot.Reasons)})");
            // Refused (the last healthy relay), it is tried again at every evaluation: the same refusal is logged once.
            if (result.Accepted || result.Message != _selfDrainRefusal)
            {
                Log.SelfDrain(_logger, result.Message);
            }

            _selfDrainRefusal = result.Accepted ? null : result.Message;
        }
    }

    private static RelayStatus ToStatus(RelayState state) => state switch
    {
        RelayState.Healthy => RelayStatus.Healthy,
        RelayState.Degraded => RelayStatus.Degraded,
        RelayState.Sick => RelayStatus.Sick,
        _ => RelayStatus.Draining,
    };

    private static RelayStatus ToStatus(HealthLevel level) => level switch
    {
        HealthLevel.Healthy => RelayStatus.Healthy,
        HealthLevel.Degraded => RelayStatus.Degraded,
        _ => RelayStatus.Sick,
    };

    /// <summary>
    /// Hysteresis for one signal: a run of readings all worse (or all better) than the current level
    /// moves it, after EnterAfter (or ExitAfter) readings, to the mildest level seen in the run.
    /// </summary>
    private sealed class Tracker
    {
        private int _direction;
        private int _streak;
        private HealthLevel _bound;

        public HealthLevel Level { get; private set; }

        public string? Reason { get; private set; }

        private bool _settled;

        public void Observe(HealthReading reading, HealthOptions options)
        {
            if (!_settled)
            {
                // Starting: each reading is taken as it is, until the first healthy one. A relay starts from what it
                // measures, not from "healthy", and is ready as soon as it is (its links up), not ExitAfter readings
                // later (issue 19); hysteresis applies to every change after that.
                _settled = reading.Level == HealthLevel.Healthy;
                Level = reading.Level;
                Reason = reading.Reason;
                return;
            }

            int direction = reading.Level.CompareTo(Level);
            if (direction == 0)
            {
                _direction = 0;
                _streak = 0;
                if (Level != HealthLevel.Healthy && reading.Reason is not null)
                {
                    Reason = reading.Reason;
                }

                return;
            }

            if (direction != _direction)
            {
                _direction = direction;
                _streak = 0;
                _bound = reading.Level;
            }

            _streak++;
            _bound = direction > 0 ? (HealthLevel)Math.Min((int)_bound, (int)reading.Level) : (HealthLevel)Math.Max((int)_bound, (int)reading.Level);
            if (_streak >= (direction > 0 ? options.EnterAfter : options.ExitAfter))
            {
                Level = _bound;
                Reason = Level == HealthLevel.Healthy ? null : reading.Reason;
                _direction = 0;
                _streak = 0;
            }
        }
    }
}
