namespace Relay.Tunnel.Links;

/// <summary>
/// The one heartbeat timer of a pool or a listener: every interval on its <see cref="TimeProvider"/> it calls the
/// owner's tick with the current timestamp. A tick still running when the next is due makes that one skip (never
/// re-entered), and a tick that throws is handed to the owner's <c>failed</c> (its own log) and the timer goes on.
/// </summary>
internal sealed class HeartbeatTimer : IDisposable
{
    private readonly TimeProvider _time;
    private readonly Action<long> _tick;
    private readonly Action<Exception> _failed;
    private readonly ITimer _timer;
    private int _ticking;

    public HeartbeatTimer(TimeProvider time, TimeSpan interval, Action<long> tick, Action<Exception> failed)
    {
        _time = time;
        _tick = tick;
        _failed = failed;
        _timer = time.CreateTimer(_ => Tick(), null, interval, interval);
    }

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        if (Interlocked.Exchange(ref _ticking, 1) != 0)
        {
            return;
        }

        try
        {
            _tick(_time.GetTimestamp());
        }
        catch (Exception ex)
        {
            _failed(ex);
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }
}
