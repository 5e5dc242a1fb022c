using System.Text;

namespace Relay.Tunnel.Pool;

/// <summary>
/// Highest-random-weight (rendezvous) hashing: every session key ranks the endpoints the same way
/// on every relay, so a resumed session reaches the same core node, and removing one endpoint
/// moves only the sessions that were on it.
/// </summary>
internal static class RendezvousHash
{
    /// <summary>Endpoint indexes ordered from most to least preferred for <paramref name="key"/>.</summary>
    public static int[] Rank(string key, IReadOnlyList<string> endpoints)
    {
        var scores = new ulong[endpoints.Count];
        var order = new int[endpoints.Count];
        for (int i = 0; i < endpoints.Count; i++)
        {
            scores[i] = Score(key, endpoints[i]);
            order[i] = i;
        }

        Array.Sort(scores, order);
        Array.Reverse(order);
        return order;
    }

    /// <summary>The weight of <paramref name="endpoint"/> for <paramref name="key"/> (FNV-1a 64 then a 64-bit mix).</summary>
    public static ulong Score(string key, string endpoint)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(key))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        hash = (hash ^ 0xFF) * 1099511628211UL;
        foreach (byte b in Encoding.UTF8.GetBytes(endpoint))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        // splitmix64 finaliser spreads FNV's weak low bits.
        hash ^= hash >> 30;
        hash *= 0xBF58476D1CE4E5B9UL;
        hash ^= hash >> 27;
        hash *= 0x94D049BB133111EBUL;
        return hash ^ (hash >> 31);
    }
}
