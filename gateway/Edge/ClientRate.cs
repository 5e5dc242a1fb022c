using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>
/// Events per second from one client (an IPv4 address, an IPv6 /64: one subscriber's share), a token bucket each. Three
/// uses: requests to the relay's own HTTP endpoints (<see cref="ClientRequestRate"/>), new connections on the wss listener, asked at accept before the handshake
/// (<see cref="Configuration.GatewayOptions.TlsHandshakesPerSecondPerAddress"/>, burst
/// <see cref="Configuration.GatewayOptions.TlsHandshakeBurstPerAddress"/>: a TLS handshake costs the relay 0.3 to 1.5 ms of
/// CPU, bench/README.md "TLS handshake flood from one client", so one client that opens and drops TLS connections in a
/// loop took a 2-vCPU relay's CPU with nothing refused; beyond its bucket a connection is reset at accept), and the
/// refusals one client may add to Under Attack mode's automatic trigger
/// (<see cref="Security.UnderAttackOptions.RefusedPerAddressPerSecond"/>).
/// </summary>
/// <remarks>
/// Hand-written rather than System.Threading.RateLimiting's partitioned token buckets (what the Under Attack mode's
/// per-address session rate uses): those refill on their own timer, and this one is read on the caller's
/// <see cref="TimeProvider"/>, as the accept budget is, so tests drive it. At most <see cref="MaxTracked"/> clients
/// are tracked (about 64 B each): a full table drops the clients whose bucket is full again (the same as not tracked),
/// at most once a second; a table still full lets new clients through untracked (the pre-auth caps and the accept budget
/// still hold) rather than refuse everyone new.
/// </remarks>
internal sealed class ClientRate
{
    /// <summary>The most clients tracked at once.</summary>
    public const int MaxTracked = 65_536;

    private readonly Lock _lock = new();
    private readonly Dictionary<UInt128, Bucket> _buckets = [];
    private readonly TimeProvider _time;
    private long _lastSweep = long.MinValue;

    /// <param name="perSecond">Events per second per client, at least 1.</param>
    /// <param name="burst">Events a client may have at once, at least 1.</param>
    /// <param name="time">The clock.</param>
    public ClientRate(int perSecond, int burst, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        PerSecond = perSecond;
        Burst = burst;
        _time = time;
    }

    /// <summary>Events per second per client.</summary>
    public int PerSecond { get; }

    /// <summary>Events a client may have at once.</summary>
    public int Burst { get; }

    /// <summary>Clients tracked now.</summary>
    public int Tracked
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>Takes one event from <paramref name="client"/>'s bucket: false when it is empty.</summary>
    public bool TryTake(IPAddress client)
    {
        var key = Key(client);
        lock (_lock)
        {
            long now = _time.GetTimestamp();
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.Count >= MaxTracked && !Sweep(now))
                {
                    return true; // untracked: see the remarks
                }

                _buckets[key] = new Bucket(Burst - 1, now);
                return true;
            }

            double tokens = Tokens(bucket, now);
            if (tokens < 1)
            {
                _buckets[key] = new Bucket(tokens, now);
                return false;
            }

            _buckets[key] = new Bucket(tokens - 1, now);
            return true;
        }
    }

    /// <summary>An IPv4 address (IPv4-mapped IPv6 too) or the /64 of an IPv6 address, as one number.</summary>
    internal static UInt128 Key(IPAddress client)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        client.TryWriteBytes(bytes, out int length);
        if (length == 4)
        {
            // ::ffff:a.b.c.d, the IPv4-mapped form: never the key of an IPv6 /64 (whose low 64 bits are zero).
            return ((UInt128)0xFFFF << 32) | ((UInt128)bytes[0] << 24) | ((UInt128)bytes[1] << 16) | ((UInt128)bytes[2] << 8) | bytes[3];
        }

        ulong high = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
        return (UInt128)high << 64;
    }

    private double Tokens(Bucket bucket, long now) =>
        Math.Min(Burst, bucket.Tokens + (_time.GetElapsedTime(bucket.Last, now).TotalSeconds * PerSecond));

    /// <summary>Drops the clients whose bucket is full again; false when it ran less than a second ago or freed nothing.</summary>
    private bool Sweep(long now)
    {
        if (_lastSweep != long.MinValue && _time.GetElapsedTime(_lastSweep, now) < TimeSpan.FromSeconds(1))
        {
            return false;
        }

        _lastSweep = now;
        foreach (var (key, bucket) in _buckets)
        {
            if (Tokens(bucket, now) >= Burst)
            {
                _buckets.Remove(key); // allowed while enumerating a Dictionary since .NET Core 3.0
            }
        }

        return _buckets.Count < MaxTracked;
    }

    private readonly record struct Bucket(double Tokens, long Last);
}
