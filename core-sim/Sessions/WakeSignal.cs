using System.Threading.Tasks.Sources;

namespace Relay.CoreSim.Sessions;

/// <summary>
/// The write loop's "something to send" signal: one pending wake at most (wakes while one is pending merge), and an
/// end. Replaces a bounded channel of one item, which an idle connection paid ~700 B for (the channel, its reader and
/// writer, a deque, a waiter and a cancellation registration per wait). The wait takes no token: the connection ends
/// it with <see cref="Complete"/> once its read loop has ended (cancellation included). One waiter at a time.
/// </summary>
internal sealed class WakeSignal : IValueTaskSource<bool>
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private bool _pending;
    private bool _completed;
    private bool _waiting;

    private object Gate => this;

    /// <summary>Wakes the waiter, or the next wait; merges with a wake not yet taken. False once completed.</summary>
    public bool Set()
    {
        lock (Gate)
        {
            if (_completed)
            {
                return false;
            }

            if (!_waiting)
            {
                _pending = true;
                return true;
            }

            _waiting = false;
        }

        _core.SetResult(true);
        return true;
    }

    /// <summary>No more wakes: a pending wake is still taken, then <see cref="WaitAsync"/> returns false.</summary>
    public void Complete()
    {
        lock (Gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (!_waiting)
            {
                return;
            }

            _waiting = false;
        }

        _core.SetResult(false);
    }

    /// <summary>True when woken (the wake is taken), false once completed with no wake pending.</summary>
    public ValueTask<bool> WaitAsync()
    {
        lock (Gate)
        {
            if (_waiting)
            {
                throw new InvalidOperationException("WaitAsync calls must not overlap.");
            }

            if (_pending)
            {
                _pending = false;
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _waiting = true;
            _core.Reset();
            return new ValueTask<bool>(this, _core.Version);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
