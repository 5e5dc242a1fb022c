using System.Net;

namespace Relay.AttackBench;

/// <summary>One flood process: what it opens, from where, for how long. Bounded in count and time; loopback only.</summary>
internal sealed record FloodOptions(
    IPEndPoint Gateway,
    IPEndPoint Backhaul,
    int IdleConnections,
    int HalfOpenConnections,
    int BackhaulConnections,
    int Sources,
    int FirstSource,
    double Seconds,
    string ResultPath)
{
    /// <summary>Connects in flight at once. Defaults to 256.</summary>
    public int ConnectConcurrency { get; init; } = 256;

    /// <summary>A half-open upgrade sends one more header line this often and never the blank line. Defaults to 3 s.</summary>
    public TimeSpan TrickleInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Pause before a closed or refused connection is opened again. Defaults to 250 ms.</summary>
    public TimeSpan ReopenDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Connects per connection slot, at most. Defaults to 1,000.</summary>
    public int MaxAttemptsPerSlot { get; init; } = 1000;

    public int Total => IdleConnections + HalfOpenConnections + BackhaulConnections;

    /// <summary>The i-th flood source address: 127.0.(1 + i / 250).(1 + i % 250), never 127.0.0.x.</summary>
    public static IPAddress Source(int i) => new([127, 0, (byte)(1 + (i / 250)), (byte)(1 + (i % 250))]);

    public void Validate()
    {
        if (!IPAddress.IsLoopback(Gateway.Address) || !IPAddress.IsLoopback(Backhaul.Address))
        {
            throw new ArgumentException("flood targets must be loopback");
        }

        if (IdleConnections < 0 || HalfOpenConnections < 0 || BackhaulConnections < 0 || Total > 100_000)
        {
            throw new ArgumentException("flood connections: 0-100000 in all");
        }

        if (Sources is < 1 or > 250 * 254 || FirstSource < 0 || Seconds is <= 0 or > 600)
        {
            throw new ArgumentException("--sources 1-63500, --seconds 0-600");
        }
    }
}
