using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Relay.Tunnel.Tests.Server;

/// <summary>
/// A flood of idle connections to a listener on loopback: one loop per source given (a source may be given more than
/// once), each holding one connection that says nothing and reopening it when the listener closes it. Bounded: at most
/// <paramref name="maxConnects"/> connects in all, 5 s each.
/// </summary>
/// <param name="port">The listener's port on 127.0.0.1.</param>
/// <param name="maxConnects">Connects in all, at most.</param>
/// <param name="shedPause">After a connection closed within 100 ms of its start (shed at once), the pause before the next (no spin); zero: none.</param>
internal sealed class IdleFlood(int port, int maxConnects, TimeSpan shedPause) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly List<Task> _loops = [];
    private int _connects;
    private int _firstClosed;

    /// <summary>Completes once there have been as many connects as loops.</summary>
    public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Connects so far.</summary>
    public int Connects => Math.Min(Volatile.Read(ref _connects), maxConnects);

    /// <summary>Loops whose first connection the listener has closed.</summary>
    public int FirstClosedByServer => Volatile.Read(ref _firstClosed);

    /// <summary>Starts a loop per source; returns, for each, the task that ends when its first connection was closed by the server.</summary>
    public List<Task> Start(IReadOnlyList<IPAddress> sources, CancellationToken token)
    {
        var linked = CancellationTokenSource.CreateLinkedTokenSource(token, _stop.Token);
        var firstClosed = new List<Task>();
        foreach (var source in sources)
        {
            var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            firstClosed.Add(first.Task);
            _loops.Add(Task.Run(() => HoldAsync(source, sources.Count, first, linked.Token)));
        }

        return firstClosed;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { });
        _stop.Dispose();
    }

    private async Task HoldAsync(IPAddress source, int loops, TaskCompletionSource first, CancellationToken token)
    {
        bool isFirst = true;
        var buffer = new byte[1];
        while (!token.IsCancellationRequested && Interlocked.Increment(ref _connects) <= maxConnects)
        {
            long started = Environment.TickCount64;
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _sockets.Add(socket);
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                using var connect = CancellationTokenSource.CreateLinkedTokenSource(token);
                connect.CancelAfter(TimeSpan.FromSeconds(5));
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), connect.Token);
                if (Volatile.Read(ref _connects) >= loops)
                {
                    Opened.TrySetResult();
                }

                // Idle: say nothing, wait for the listener to close the connection.
                await socket.ReceiveAsync(buffer, SocketFlags.None, token);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                // Reset or refused: closed by the server all the same.
            }
            catch (OperationCanceledException)
            {
                continue; // connect timed out (the backlog is full): try again
            }

            if (isFirst)
            {
                isFirst = false;
                Interlocked.Increment(ref _firstClosed);
                first.TrySetResult();
            }

            if (shedPause > TimeSpan.Zero && Environment.TickCount64 - started < 100)
            {
                try
                {
                    await Task.Delay(shedPause, token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
