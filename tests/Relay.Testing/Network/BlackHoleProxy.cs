using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Relay.Testing.Network;

/// <summary>
/// A TCP proxy on loopback that forwards both ways until <see cref="Cut"/>: from then on it forwards nothing in either
/// direction and closes nothing (a path cut off the WAN: packets dropped, no FIN, no reset). Only <see cref="Dispose"/>
/// closes its sockets.
/// </summary>
public sealed class BlackHoleProxy : IDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationToken _stopping;
    private readonly ConcurrentBag<Socket> _sockets = [];
    private volatile bool _cut;

    public BlackHoleProxy(IPEndPoint target)
    {
        _target = target;
        _stopping = _stop.Token;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _ = Task.Run(AcceptAsync);
    }

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => _sockets.Count / 2;

    /// <summary>Bytes are forwarded no more, either way, on every connection (new ones are accepted and hang too).</summary>
    public void Cut() => _cut = true;

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        _sockets.Add(client);
        _sockets.Add(upstream);
        try
        {
            await upstream.ConnectAsync(_target, _stopping);
            await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        while (!_stopping.IsCancellationRequested)
        {
            int read = _cut ? 0 : await from.ReceiveAsync(buffer, SocketFlags.None, _stopping);
            if (_cut)
            {
                // Silent: what was read is dropped, nothing more is read (the sender's window fills), nothing is closed.
                await Task.Delay(Timeout.Infinite, _stopping);
            }

            if (read == 0)
            {
                to.Shutdown(SocketShutdown.Send); // a real FIN before the cut passes through
                return;
            }

            await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var s in _sockets)
        {
            s.Dispose();
        }

        _stop.Dispose();
    }
}
