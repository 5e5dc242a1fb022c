using System.Net;
using System.Threading.RateLimiting;

namespace Relay.Gateway.Security;

/// <summary>
/// New-session rate limits at admission (System.Threading.RateLimiting, partitioned token buckets): one bucket per
/// client address, one per IPv4 /24 or IPv6 /48. Idle buckets are dropped by the limiter itself.
/// </summary>
internal sealed class ConnectionRateLimits : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _perAddress;
    private readonly PartitionedRateLimiter<IPAddress> _perPrefix;

    public ConnectionRateLimits(UnderAttackOptions options)
    {
        _perAddress = PartitionedRateLimiter.Create<IPAddress, IPAddress>(ip => RateLimitPartition.GetTokenBucketLimiter(
            ip, _ => Bucket(options.ConnectionBurstPerAddress, options.ConnectionsPerSecondPerAddress)));
        _perPrefix = PartitionedRateLimiter.Create<IPAddress, IPAddress>(ip => RateLimitPartition.GetTokenBucketLimiter(
            Prefix(ip), _ => Bucket(options.ConnectionBurstPerPrefix, options.ConnectionsPerSecondPerPrefix)));
    }

    /// <summary>Takes one token from the address's bucket, then from its prefix's; the reason of a refusal, or null.</summary>
    public string? TryAcquire(IPAddress ip)
    {
        ip = Edge.ClientKey.Of(ip); // "per address": per client, an IPv4 address or an IPv6 /64
        using (var lease = _perAddress.AttemptAcquire(ip))
        {
            if (!lease.IsAcquired)
            {
                return "rate-address";
            }
        }

        using var prefix = _perPrefix.AttemptAcquire(ip);
        return prefix.IsAcquired ? null : "rate-prefix";
    }

    /// <summary>The IPv4 /24 or IPv6 /48 an address belongs to.</summary>
    public static IPAddress Prefix(IPAddress ip)
    {
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out int length);
        int keep = length == 4 ? 3 : 6;
        bytes[keep..length].Clear();
        return new IPAddress(bytes[..length]);
    }

    public void Dispose()
    {
        _perAddress.Dispose();
        _perPrefix.Dispose();
    }

    private static TokenBucketRateLimiterOptions Bucket(int burst, int perSecond) => new()
    {
        TokenLimit = burst,
        TokensPerPeriod = perSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}
