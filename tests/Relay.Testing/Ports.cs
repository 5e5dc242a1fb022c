using System.Net;
using System.Net.Sockets;

namespace Relay.Testing;

/// <summary>Free ports for processes that must be told theirs on the command line.</summary>
public static class Ports
{
    /// <summary>A free TCP port on loopback (bound and released; good enough for a test's own processes).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
