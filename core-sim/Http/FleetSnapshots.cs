namespace Relay.CoreSim.Http;

/// <summary>
/// The fleet view the dashboard's streams send (GET /v1/fleet/stream), rendered at most once per <see cref="Fresh"/>
/// whatever the number of streams, and the cap on those streams (<c>CoreSim:FleetStreamMaxClients</c>). Each stream
/// rendered its own view every 500 ms before (in cluster mode a broker round trip each): a review found that a few
/// thousand anonymous streams made the core render thousands of views a second. GET /fleet shares the renderings too
/// (<see cref="GetSinceAsync"/>): it rendered one per request, so a flood of GETs did what the cap on streams prevents.
/// </summary>
internal sealed class FleetSnapshots(TimeProvider time, int maxClients = int.MaxValue)
{
    /// <summary>A view younger than this is sent as it is: half a stream's interval, so each tick sees a view of its time.</summary>
    public static readonly TimeSpan Fresh = Dashboard.StreamInterval / 2;

    /// <summary>Renderings for GET /fleet start at least this far apart: at most 20 a second, whatever the number of GETs.</summary>
    public static readonly TimeSpan MinGap = TimeSpan.FromMilliseconds(50);

    private readonly SemaphoreSlim _rendering = new(1, 1);
    private string? _view;
    private long _renderStartedAt;
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

    /// <summary>The streams' view: the last one while it is fresh (younger than <see cref="Fresh"/>), else rendered now.</summary>
    public Task<string> GetAsync(Func<CancellationToken, Task<string>> render, CancellationToken ct) =>
        GetSinceAsync(render, time.GetTimestamp() - (long)(Fresh.TotalSeconds * time.TimestampFrequency) + 1, ct);

    /// <summary>
    /// <c>GET /fleet</c>'s view: one whose rendering started at or after <paramref name="since"/> (a timestamp of the time
    /// provider: the request's arrival), so a GET sees everything that happened before it; GETs that arrive while a
    /// rendering runs share the next one, and renderings for them start at least <see cref="MinGap"/> apart.
    /// </summary>
    public async Task<string> GetSinceAsync(Func<CancellationToken, Task<string>> render, long since, CancellationToken ct)
    {
        await _rendering.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_view is not null && _renderStartedAt >= since)
            {
                return _view;
            }

            var gap = _view is null ? TimeSpan.Zero : MinGap - time.GetElapsedTime(_renderStartedAt);
            if (gap > TimeSpan.Zero)
            {
                await Task.Delay(gap, time, ct).ConfigureAwait(false); // the GETs arriving meanwhile share what follows
            }

            _renderStartedAt = time.GetTimestamp(); // before rendering: the view holds everything done before this
            _view = await render(ct).ConfigureAwait(false);
            return _view;
        }
        finally
        {
            _rendering.Release();
        }
    }
}
