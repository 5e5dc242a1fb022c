using System.Net;
using System.Net.Sockets;

namespace Relay.Testing;

/// <summary>Free ports for processes that must be told theirs on the command line.</summary>
public static class Ports
{
    // Below Linux's ephemeral range (32768–60999 by default): a port handed out here cannot be taken, between the pick
    // and the child process's bind (minutes when a run builds first), by the kernel for someone's outgoing connection or
    // bind(0). A CI run failed that way once: the gateway of `build.ps1 run` found its agent port taken after the build.
    private const int Low = 20_000, High = 32_000;
    private static readonly HashSet<int> s_given = [];

    /// <summary>A free TCP port on loopback (bound and released), never the same one twice in a test process.</summary>
    public static int Free()
    {
        lock (s_given)
        {
            for (int attempt = 0; attempt < 1_000; attempt++)
            {
                int port = Random.Shared.Next(Low, High);
                if (s_given.Contains(port))
                {
                    continue;
                }

                try
                {
                    using var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                }
                catch (SocketException)
                {
                    continue; // in use
                }

                s_given.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException($"no free port between {Low} and {High} after 1,000 tries");
    }
}
