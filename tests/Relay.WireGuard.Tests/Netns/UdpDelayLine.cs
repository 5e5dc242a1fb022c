using System.Net;
using System.Net.Sockets;

namespace Relay.WireGuard.Tests.Netns;

/// <summary>
/// A userspace netem for one UDP flow (the WireGuard tunnel): packets to <see cref="Front"/> go to the target
/// after <see cref="Delay"/>, answers come back the same way; <see cref="Loss"/> drops at random (1.0 drops
/// all). Used because this kernel has no sch_netem ("Specified qdisc kind is unknown").
/// </summary>
internal sealed class UdpDelayLine : IDisposable
{
    private readonly Socket _front;
    private readonly Socket _back;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private volatile IPEndPoint? _client;

    public UdpDelayLine(IPEndPoint listen, IPEndPoint target)
    {
        _target = target;
        _front = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _front.Bind(listen);
        _back = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _back.Bind(new IPEndPoint(IPAddress.Any, 0));
        _ = Task.Run(() => PumpAsync(_front, fromClient: true));
        _ = Task.Run(() => PumpAsync(_back, fromClient: false));
    }

    public IPEndPoint Front => (IPEndPoint)_front.LocalEndPoint!;

    /// <summary>One-way delay. Defaults to 0.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Fraction of packets dropped each way, 0-1.</summary>
    public double Loss { get; set; }

    public long Forwarded;

    private async Task PumpAsync(Socket socket, bool fromClient)
    {
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // ICMP unreachable from an earlier send
            }

            if (fromClient)
            {
                _client = (IPEndPoint)r.RemoteEndPoint;
            }

            if (Random.Shared.NextDouble() < Loss)
            {
                continue;
            }

            byte[] packet = buffer.AsSpan(0, r.ReceivedBytes).ToArray();
            var to = fromClient ? _target : _client;
            var via = fromClient ? _back : _front;
            if (to is null)
            {
                continue;
            }

            _ = SendLaterAsync(via, packet, to);
        }
    }

    private async Task SendLaterAsync(Socket via, byte[] packet, IPEndPoint to)
    {
        try
        {
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, _stop.Token);
            }

            await via.SendToAsync(packet, SocketFlags.None, to, _stop.Token);
            Interlocked.Increment(ref Forwarded);
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // stopping
        }
        catch (SocketException)
        {
            // the far end is gone for now: a lost packet
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _front.Dispose();
        _back.Dispose();
        _stop.Dispose();
    }
}
