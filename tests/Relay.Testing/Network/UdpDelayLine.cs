using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Relay.Testing.Network;

/// <summary>
/// A userspace netem for one UDP flow (the WireGuard tunnel; shared by the WAN benchmark and the tunnel tests),
/// first-in first-out: packets to <see cref="Front"/> go to the target after <see cref="Delay"/>, answers come
/// back the same way, each direction in arrival order (a constant delay never reorders, as netem without jitter);
/// <see cref="Loss"/> drops at random, independently each way. This kernel has no sch_netem.
/// </summary>
public sealed class UdpDelayLine : IDisposable
{
    private readonly Socket _front;
    private readonly Socket _back;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<(long Due, byte[] Packet, IPEndPoint To)> _toTarget = Channel.CreateUnbounded<(long, byte[], IPEndPoint)>(new() { SingleReader = true, SingleWriter = true });
    private readonly Channel<(long Due, byte[] Packet, IPEndPoint To)> _toClient = Channel.CreateUnbounded<(long, byte[], IPEndPoint)>(new() { SingleReader = true, SingleWriter = true });
    private volatile IPEndPoint? _client;
    private long _forwarded;
    private long _dropped;
    private long _bytes;

    public UdpDelayLine(IPEndPoint listen, IPEndPoint target)
    {
        _target = target;
        _front = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20, SendBufferSize = 4 << 20 };
        _front.Bind(listen);
        _back = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20, SendBufferSize = 4 << 20 };
        _back.Bind(new IPEndPoint(IPAddress.Any, 0));
        _ = Task.Run(() => ReceiveAsync(_front, fromClient: true));
        _ = Task.Run(() => ReceiveAsync(_back, fromClient: false));
        _ = Task.Run(() => SendAsync(_toTarget.Reader, _back));
        _ = Task.Run(() => SendAsync(_toClient.Reader, _front));
    }

    public IPEndPoint Front => (IPEndPoint)_front.LocalEndPoint!;

    /// <summary>One-way delay.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Fraction of packets dropped each way, 0-1.</summary>
    public double Loss { get; set; }

    public long Forwarded => Interlocked.Read(ref _forwarded);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>UDP payload bytes forwarded (both ways): what the tunnel cost on the WAN.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>How late the packets went out against <see cref="Delay"/>.</summary>
    public Lateness Lateness { get; } = new();

    private async Task ReceiveAsync(Socket socket, bool fromClient)
    {
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        var queue = fromClient ? _toTarget.Writer : _toClient.Writer;
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

            if (Loss > 0 && Random.Shared.NextDouble() < Loss)
            {
                Interlocked.Increment(ref _dropped);
                continue;
            }

            var to = fromClient ? _target : _client;
            if (to is not null)
            {
                long due = Stopwatch.GetTimestamp() + (long)(Delay.TotalSeconds * Stopwatch.Frequency);
                queue.TryWrite((due, buffer.AsSpan(0, r.ReceivedBytes).ToArray(), to));
            }
        }
    }

    private async Task SendAsync(ChannelReader<(long Due, byte[] Packet, IPEndPoint To)> queue, Socket via)
    {
        try
        {
            await foreach (var (due, packet, to) in queue.ReadAllAsync(_stop.Token))
            {
                await Clock.SleepUntilAsync(due, _stop.Token);
                Lateness.Record(due);
                try
                {
                    await via.SendToAsync(packet, SocketFlags.None, to, _stop.Token);
                    Interlocked.Increment(ref _forwarded);
                    Interlocked.Add(ref _bytes, packet.Length);
                }
                catch (SocketException)
                {
                    // the far end is gone for now: a lost packet
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // stopping
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _front.Dispose();
        _back.Dispose();
    }
}
