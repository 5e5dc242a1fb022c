namespace Relay.CoreSim.Http;

/// <summary>
/// The fleet view the dashboard's streams send (GET /v1/fleet/stream), rendered at most once per <see cref="Fresh"/>
/// whatever the number of streams, and the cap on those streams (<c>CoreSim:FleetStreamMaxClients</c>). Each stream
/// rendered its own view every 500 ms before (in cluster mode a broker round trip each): a review found that a few
/// thousand anonymous streams made the core render thousands of views a second.
/// </summary>
internal sealed class FleetSnapshots(TimeProvider time, int maxClients = int.MaxValue)
{
    /// <summary>A view younger than this is sent as it is: half a stream's interval, so each tick sees a view of its time.</summary>
    public static readonly TimeSpan Fresh = Dashboard.StreamInterval / 2;

    private readonly SemaphoreSlim _rendering = new(1, 1);
    private string? _view;
    private long _renderedAt;
    private int _clients;

    /// <summary>Takes a stream's place; false when <c>CoreSim:FleetStreamMaxClients</c> streams are open.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _clients) <= maxClients)
        {
            return true;
        }

        Interlocked.Decrement(ref _clients);
        return false;
    }

    /// <summary>Gives a stream's place back.</summary>
    public void Leave() => Interlocked.Decrement(ref _clients);

    /// <summary>The current view: the last one while it is fresh, else rendered now (one rendering at a time).</summary>
    public async Task<string> GetAsync(Func<CancellationToken, Task<string>> render, CancellationToken ct)
    {
        await _rendering.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_view is null || time.GetElapsedTime(_renderedAt) >= Fresh)
            {
                _view = await render(ct).ConfigureAwait(false);
                _renderedAt = time.GetTimestamp();
            }

            return _view;
        }
        finally
        {
            _rendering.Release();
        }
    }
}
