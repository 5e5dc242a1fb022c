using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Relay.Testing.Network;

namespace Relay.Testing.Netns;

/// <summary>
/// A userspace WAN between network namespaces, for every IPv4 packet (TCP, the WireGuard tunnel's UDP, DNS): each
/// attached namespace gets one TUN device (its default route) owned by this process, and a packet read from one is
/// written to the TUN of the namespace that owns its destination after half the round trip configured between their
/// regions, in arrival order per (source, destination) pair (a constant delay never reorders, as netem without
/// jitter); <see cref="SetLoss"/> drops a region's packets at random each way (1.0 cuts it off). Packets pass
/// unchanged, so source addresses survive (a server sees the user's own address). This kernel has no sch_netem.
/// Bounded: each lane holds at most <see cref="MaxQueuedPackets"/> packets (more are dropped, as a full router queue).
/// </summary>
public sealed partial class TunWan : IDisposable
{
    /// <summary>Packets waiting in one (source, destination) lane at most.</summary>
    public const int MaxQueuedPackets = 20_000;

    private const int OpenReadWrite = 2;
    private const int OpenCloseOnExec = 0x80000;
    private const uint TunSetInterface = 0x400454ca;
    private const short TunDevice = 0x0001;
    private const short NoPacketInfo = 0x1000;
    private const short PollIn = 0x001;
    private const int MaxPacket = 65_536;

    private readonly string _id;
    private readonly Lock _gate = new();
    private readonly List<Node> _nodes = [];
    private readonly Dictionary<uint, Node> _byAddress = [];
    private readonly Dictionary<(string, string), long> _oneWayTicks = [];
    private readonly Dictionary<string, double> _loss = [];
    private readonly Dictionary<(Node, Node), Channel<(long Due, byte[] Packet)>> _lanes = [];
    private readonly CancellationTokenSource _stop = new();
    private long _forwarded;
    private long _dropped;
    private long _unroutable;
    private bool _disposed;

    /// <param name="id">Unique to the lab (its TUN devices are named <c>w&lt;id&gt;&lt;n&gt;</c>).</param>
    public TunWan(string id) => _id = id;

    /// <summary>Packets delivered.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Packets dropped by <see cref="SetLoss"/> or a full lane.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Packets to an address no attached namespace owns (IPv6 included).</summary>
    public long Unroutable => Interlocked.Read(ref _unroutable);

    /// <summary>
    /// Attaches <paramref name="ns"/> (in <paramref name="region"/>) to the WAN: a TUN device moved into it, the
    /// <paramref name="addresses"/> (/32 each) on it, and the default route through it. Returns the device name.
    /// </summary>
    public string Attach(string ns, string region, params IReadOnlyList<string> addresses)
    {
        Node node;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            string name = $"w{_id}{_nodes.Count}";
            int fd = OpenTun(name);
            node = new Node(name, ns, region, fd);
            _nodes.Add(node);
            foreach (string a in addresses)
            {
                _byAddress.Add(Key(IPAddress.Parse(a)), node);
            }
        }

        NetnsLab.Run("ip", "link", "set", node.Device, "netns", ns);
        NetnsLab.Exec(ns, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", "net.ipv6.conf.all.disable_ipv6=1");
        foreach (string a in addresses)
        {
            NetnsLab.Ip(ns, "address", "add", $"{a}/32", "dev", node.Device);
        }

        NetnsLab.Ip(ns, "link", "set", node.Device, "up");
        NetnsLab.Ip(ns, "route", "add", "default", "dev", node.Device);
        node.Reader = new Thread(() => ReadLoop(node)) { IsBackground = true, Name = $"wan {node.Device}" };
        node.Reader.Start();
        return node.Device;
    }

    /// <summary>Sets the round trip between two regions (both ways; a region with itself is its near link).</summary>
    public void SetRtt(string regionA, string regionB, TimeSpan rtt)
    {
        long oneWay = (long)(rtt.TotalSeconds / 2 * Stopwatch.Frequency);
        lock (_gate)
        {
            _oneWayTicks[(regionA, regionB)] = oneWay;
            _oneWayTicks[(regionB, regionA)] = oneWay;
        }
    }

    /// <summary>The round trip configured between two regions (zero when none was set).</summary>
    public TimeSpan Rtt(string regionA, string regionB)
    {
        lock (_gate)
        {
            return _oneWayTicks.TryGetValue((regionA, regionB), out long t) ? TimeSpan.FromSeconds(2.0 * t / Stopwatch.Frequency) : TimeSpan.Zero;
        }
    }

    /// <summary>
    /// Drops this fraction (0-1) of the packets from and to <paramref name="regionOrNamespace"/> (a region: every
    /// namespace in it; a namespace: that one only), independently each way; 1 cuts it off.
    /// </summary>
    public void SetLoss(string regionOrNamespace, double loss)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(loss, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(loss, 1);
        lock (_gate)
        {
            _loss[regionOrNamespace] = loss;
        }
    }

    private void ReadLoop(Node from)
    {
        var buffer = new byte[MaxPacket];
        while (!_stop.IsCancellationRequested)
        {
            int n = ReadPacket(from.Fd, buffer, 250);
            if (n < 0)
            {
                return; // the device is gone
            }

            if (n < 20 || buffer[0] >> 4 != 4)
            {
                if (n > 0)
                {
                    Interlocked.Increment(ref _unroutable);
                }

                continue;
            }

            uint destination = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(16, 4));
            Channel<(long, byte[])>? lane = null;
            long due = 0;
            bool drop = false;
            lock (_gate)
            {
                if (_byAddress.TryGetValue(destination, out var to) && to != from)
                {
                    double loss = Math.Max(
                        Math.Max(_loss.GetValueOrDefault(from.Region), _loss.GetValueOrDefault(from.Namespace)),
                        Math.Max(_loss.GetValueOrDefault(to.Region), _loss.GetValueOrDefault(to.Namespace)));
                    drop = loss > 0 && Random.Shared.NextDouble() < loss;
                    due = Stopwatch.GetTimestamp() + _oneWayTicks.GetValueOrDefault((from.Region, to.Region));
                    if (!_lanes.TryGetValue((from, to), out lane))
                    {
                        lane = Channel.CreateBounded<(long, byte[])>(new BoundedChannelOptions(MaxQueuedPackets) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.DropWrite });
                        _lanes.Add((from, to), lane);
                        var reader = lane.Reader;
                        _ = Task.Run(() => SendLoopAsync(reader, to));
                    }
                }
            }

            if (lane is null)
            {
                Interlocked.Increment(ref _unroutable);
            }
            else if (drop || !lane.Writer.TryWrite((due, buffer.AsSpan(0, n).ToArray())))
            {
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    private async Task SendLoopAsync(ChannelReader<(long Due, byte[] Packet)> lane, Node to)
    {
        try
        {
            await foreach (var (due, packet) in lane.ReadAllAsync(_stop.Token))
            {
                await Clock.SleepUntilAsync(due, _stop.Token);
                if (WritePacket(to.Fd, packet))
                {
                    Interlocked.Increment(ref _forwarded);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    public void Dispose()
    {
        Node[] nodes;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            nodes = [.. _nodes];
        }

        _stop.Cancel();
        foreach (var node in nodes)
        {
            node.Reader?.Join(TimeSpan.FromSeconds(2));
            _ = Close(node.Fd); // the device goes with its last descriptor
        }
    }

    private static uint Key(IPAddress address) => BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());

    private static unsafe int OpenTun(string name)
    {
        int fd = Open("/dev/net/tun", OpenReadWrite | OpenCloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"open /dev/net/tun: errno {Marshal.GetLastPInvokeError()}");
        }

        byte* request = stackalloc byte[40];
        new Span<byte>(request, 40).Clear();
        System.Text.Encoding.ASCII.GetBytes(name, new Span<byte>(request, 15));
        *(short*)(request + 16) = TunDevice | NoPacketInfo;
        if (IoCtl(fd, TunSetInterface, request) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _ = Close(fd);
            throw new IOException($"TUNSETIFF {name}: errno {errno}");
        }

        return fd;
    }

    /// <summary>A packet's length, 0 when none came within the timeout, -1 when the device is gone.</summary>
    private static unsafe int ReadPacket(int fd, byte[] buffer, int timeoutMs)
    {
        var poll = new PollFd { Fd = fd, Events = PollIn };
        int ready = Poll(&poll, 1, timeoutMs);
        if (ready <= 0)
        {
            return ready == 0 || Marshal.GetLastPInvokeError() == 4 /* EINTR */ ? 0 : -1;
        }

        if ((poll.Returned & PollIn) == 0)
        {
            return -1;
        }

        fixed (byte* p = buffer)
        {
            nint n = Read(fd, p, buffer.Length);
            return n < 0 ? (Marshal.GetLastPInvokeError() is 4 or 11 ? 0 : -1) : (int)n;
        }
    }

    private static unsafe bool WritePacket(int fd, byte[] packet)
    {
        fixed (byte* p = packet)
        {
            return Write(fd, p, packet.Length) == packet.Length;
        }
    }

    private sealed class Node(string device, string ns, string region, int fd)
    {
        public string Device => device;

        public string Namespace => ns;

        public string Region => region;

        public int Fd => fd;

        public Thread? Reader { get; set; }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Returned;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int IoCtl(int fd, nuint request, byte* argument);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
