using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;
using Relay.Contracts.Sessions;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Health;

/// <summary>
/// Acts on the core's <see cref="RebalanceOrder"/> (issue 17): the sessions whose client address is in the ordered region
/// (by the region routes of the core's last fleet view, longest prefix first) are closed with 4001 in jittered batches of
/// <see cref="HealthOptions.DrainBatchSize"/>, as a drain moves sessions, all of them by <see cref="HealthOptions.DrainDeadline"/>;
/// the clients reconnect through negotiate, which sends them home. Only those sessions: the relay keeps its readiness and
/// takes new sessions all along (it does not drain). A relay of the ordered region, or one without routes, moves nothing.
/// One rebalance per region at a time; sessions that arrive during it stay.
/// </summary>
internal sealed partial class Rebalancer
{
    private readonly SessionRegistry _sessions;
    private readonly DrainController _drain;
    private readonly HealthOptions _options;
    private readonly string _relayId;
    private readonly string _region;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private volatile Run? _last;

    public Rebalancer(SessionRegistry sessions, DrainController drain, IOptions<GatewayOptions> options, BackhaulService backhaul, TimeProvider time, ILogger<Rebalancer> logger)
    {
        _sessions = sessions;
        _drain = drain;
        _options = options.Value.Health;
        _relayId = options.Value.Backhaul.RelayId;
        _region = options.Value.Backhaul.Region;
        _time = time;
        _logger = logger;
        backhaul.Pool.CommandReceived += OnCommand;
    }

    /// <summary>Completes when the last rebalance started has closed its sessions (completed when none ran).</summary>
    public Task Moving => _last?.Task ?? Task.CompletedTask;

    /// <summary>The last rebalance, for /status; null before the first.</summary>
    public RebalanceStatus? Describe() => _last?.Describe();

    /// <summary>Starts moving the sessions of <paramref name="region"/>'s users home. Returns at once.</summary>
    public DrainResult Start(string region)
    {
        var fleet = _drain.Fleet;
        if (fleet?.Regions is not { Count: > 0 } routes)
        {
            return new DrainResult(false, $"rebalance {region}: the core's fleet view has no region routes yet: nothing moved");
        }

        var map = new RegionMap(routes);
        if (!map.Contains(region))
        {
            return new DrainResult(false, $"rebalance {region}: not a region of the fleet view: nothing moved");
        }

        string own = fleet.Details?.FirstOrDefault(d => string.Equals(d.Id, _relayId, StringComparison.Ordinal))?.Region ?? _region;
        if (string.Equals(own, region, StringComparison.Ordinal))
        {
            return new DrainResult(false, $"rebalance {region}: this relay is in {region}: nothing to move");
        }

        lock (_gate)
        {
            if (!_running.Add(region))
            {
                return new DrainResult(true, $"rebalance {region}: already moving them");
            }
        }

        var run = new Run(region, _time.GetUtcNow());
        _last = run;
        run.Task = Task.Run(() => MoveAsync(run, map), CancellationToken.None); // off the link's read loop: the lookups cost a walk of the sessions
        return new DrainResult(true, $"rebalance {region}: moving the sessions of its users home");
    }

    private async Task MoveAsync(Run run, RegionMap map)
    {
        long start = _time.GetTimestamp();
        try
        {
            var sessions = _sessions.Snapshot().Where(s => map.TryFind(s.Ip, out string home, out _) && string.Equals(home, run.Region, StringComparison.Ordinal)).ToList();
            run.ToMove = sessions.Count;
            Log.RebalanceStarted(_logger, run.Region, sessions.Count);
            int next = 0;
            while (next < sessions.Count)
            {
                bool pastDeadline = _time.GetElapsedTime(start) >= _options.DrainDeadline;
                var batch = sessions.Skip(next).Take(pastDeadline ? sessions.Count : _options.DrainBatchSize).ToList();
                next += batch.Count;
                foreach (var session in batch)
                {
                    session.RequestClose(CloseCodes.Draining, $"region {run.Region} is back: reconnect now");
                }

                run.Batch(batch.Count);
                if (next >= sessions.Count)
                {
                    break;
                }

                // As the drain: ±50 % jitter around the batch interval spreads the reconnects, then the batch's closes.
                await Task.Delay(_options.DrainBatchInterval * (0.5 + Random.Shared.NextDouble()), _time).ConfigureAwait(false);
                await Task.WhenAll(batch.Select(s => s.Completion)).WaitAsync(_options.DrainBatchTimeout, _time).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }

            run.Finish(_time.GetUtcNow());
            _drain.NoteCoreCommand(run.Describe().Message);
            Log.RebalanceFinished(_logger, run.Region, run.Moved, run.Batches, _time.GetElapsedTime(start).TotalMilliseconds);
        }
        finally
        {
            lock (_gate)
            {
                _running.Remove(run.Region);
            }
        }
    }

    private void OnCommand(string name, ReadOnlyMemory<byte> argument)
    {
        if (name != ControlCodec.RebalanceCommand)
        {
            return;
        }

        if (!ControlCodec.TryDecode(name, argument.Span, out var order) || order is not RebalanceOrder rebalance)
        {
            Log.BadOrder(_logger);
            return;
        }

        var result = Start(rebalance.Region);
        _drain.NoteCoreCommand(result.Message);
    }

    /// <summary>One rebalance's progress.</summary>
    private sealed class Run(string region, DateTimeOffset started)
    {
        private readonly Lock _gate = new();
        private volatile int _toMove;
        private int _moved;
        private int _batches;
        private DateTimeOffset? _finished;

        public string Region => region;

        public int Moved => Volatile.Read(ref _moved);

        public int Batches => Volatile.Read(ref _batches);

        public Task Task { get; set; } = Task.CompletedTask;

        public int ToMove
        {
            get => _toMove;
            set => _toMove = value;
        }

        public void Batch(int count)
        {
            Interlocked.Add(ref _moved, count);
            Interlocked.Increment(ref _batches);
        }

        public void Finish(DateTimeOffset at)
        {
            lock (_gate)
            {
                _finished = at;
            }
        }

        public RebalanceStatus Describe()
        {
            DateTimeOffset? finished;
            lock (_gate)
            {
                finished = _finished; // a struct wider than a word: read under the lock
            }

            return new(
                region,
                started,
                finished,
                ToMove,
                Moved,
                Batches,
                finished is null ? $"rebalance {region}: {Moved} of {ToMove} sessions moved" : $"rebalance {region}: {Moved} sessions moved home in {Batches} batches");
        }
    }
}

/// <summary>A relay's last rebalance (issue 17), in its <c>/status</c>.</summary>
/// <param name="Region">The region whose users were sent home.</param>
/// <param name="Started">When the order arrived.</param>
/// <param name="Finished">When every session had been asked to close; null while moving.</param>
/// <param name="SessionsToMove">Sessions of the region's users on the relay when the order arrived.</param>
/// <param name="SessionsMoved">Sessions asked to close so far.</param>
/// <param name="Batches">Batches so far.</param>
/// <param name="Message">Progress as a sentence (also the health report's last core command when finished).</param>
public sealed record RebalanceStatus(string Region, DateTimeOffset Started, DateTimeOffset? Finished, int SessionsToMove, int SessionsMoved, int Batches, string Message);
