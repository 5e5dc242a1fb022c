using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Relay.Tunnel.Tests.Server;

/// <summary>
/// Issue 16 item 2 on real loopback sockets: idle connections from many source addresses (127.0.x.y), reopened when
/// closed, must not lock a configured relay out of the core. Bounded: 1,000 connections held, 6,000 opened at most, 60 s.
/// </summary>
public class HandshakeFloodTests
{
    private const int Held = 1_000;
    private const int Addresses = 60;

    [Test]
    [CancelAfter(60_000)]
    public async Task IdleFloodFromManyAddresses_RelayThatDroppedItsLinksReconnects_AndTheFloodIsClosedByTheDeadline(CancellationToken token)
    {
        await using var listener = new LinkListener(new LinkListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), NodeId = "core-test", Link = Links.Backhaul.Options() });
        listener.Start();
        await using var pool = new LinkPool(new LinkPoolOptions
        {
            RelayId = "relay-test",
            Endpoints = [listener.LocalEndPoint.ToString()],
            LinksPerEndpoint = 2,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            Link = Links.Backhaul.Options(),
        });
        pool.Start();
        await pool.WaitForLinksAsync(2, token);

        await using var flood = new Flood(listener.LocalEndPoint.Port);
        var firstWave = flood.Start(token);
        await flood.Opened.Task.WaitAsync(token);

        Assert.That(pool.KillAllLinks(), Is.EqualTo(2));
        using (var reconnect = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            reconnect.CancelAfter(TimeSpan.FromSeconds(20));
            await pool.WaitForLinksAsync(2, reconnect.Token);
        }

        Assert.That(pool.LinksUp, Is.EqualTo(2), "the relay got its links back during the flood");
        await Task.WhenAll(firstWave).WaitAsync(token);
        Assert.That(flood.FirstWaveClosedByServer, Is.EqualTo(Held), "every idle connection of the first wave was closed by the listener");
    }

    /// <summary>Holds <see cref="Held"/> idle connections from <see cref="Addresses"/> source addresses, reopening each one the listener closes.</summary>
    private sealed class Flood(int port) : IAsyncDisposable
    {
        private const int MaxConnects = 6_000;
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentBag<Socket> _sockets = [];
        private readonly List<Task> _loops = [];
        private int _connects;
        private int _firstWaveClosed;

        public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int FirstWaveClosedByServer => Volatile.Read(ref _firstWaveClosed);

        /// <summary>Starts the flood; returns, for each held connection, the task that ends when its first socket was closed by the server.</summary>
        public List<Task> Start(CancellationToken token)
        {
            var linked = CancellationTokenSource.CreateLinkedTokenSource(token, _stop.Token);
            var firstWave = new List<Task>();
            for (int i = 0; i < Held; i++)
            {
                var address = new IPAddress([127, 0, (byte)(1 + (i % Addresses / 250)), (byte)(1 + (i % Addresses % 250))]);
                var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                firstWave.Add(first.Task);
                _loops.Add(Task.Run(() => HoldAsync(address, first, linked.Token)));
            }

            return firstWave;
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

        private async Task HoldAsync(IPAddress source, TaskCompletionSource first, CancellationToken token)
        {
            bool isFirst = true;
            var buffer = new byte[1];
            while (!token.IsCancellationRequested && Interlocked.Increment(ref _connects) <= MaxConnects)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                _sockets.Add(socket);
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    using var connect = CancellationTokenSource.CreateLinkedTokenSource(token);
                    connect.CancelAfter(TimeSpan.FromSeconds(5));
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), connect.Token);
                    if (Volatile.Read(ref _connects) >= Held)
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
                    Interlocked.Increment(ref _firstWaveClosed);
                    first.TrySetResult();
                }
            }
        }
    }
}
