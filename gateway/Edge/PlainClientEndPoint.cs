using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>
/// The plain client listener's address: <see cref="GatedSocketTransportFactory"/> binds it as a listener that owns its
/// connections (sessions on their own sockets, issue 21) and hands the rest to Kestrel.
/// </summary>
internal sealed class PlainClientEndPoint(IPAddress address, int port) : IPEndPoint(address, port);
