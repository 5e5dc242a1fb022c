using System.Collections.Concurrent;
using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>Counts concurrent things per client (sessions; forwarded edge HTTP requests) up to a cap: an IPv4 address or an IPv6 /64 (<see cref="ClientKey"/>).</summary>
internal sealed class IpLimiter(int max)
{
    private readonly ConcurrentDictionary<IPAddress, int> _counts = new();

    public bool TryAcquire(IPAddress ip)
    {
        ip = ClientKey.Of(ip);
        while (true)
        {
            int current = _counts.GetOrAdd(ip, 0);
            if (current >= max)
            {
                return false;
            }

            if (_counts.TryUpdate(ip, current + 1, current))
            {
                return true;
            }
        }
    }

    public void Release(IPAddress ip)
    {
        ip = ClientKey.Of(ip);
        while (_counts.TryGetValue(ip, out int current))
        {
            if (current <= 1 ? _counts.TryRemove(new KeyValuePair<IPAddress, int>(ip, current)) : _counts.TryUpdate(ip, current - 1, current))
            {
                return;
            }
        }
    }
}
