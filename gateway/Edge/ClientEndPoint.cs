using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>
/// A client listener's address that <see cref="GatedSocketTransportFactory"/> binds as a listener owning its connections
/// (sessions on their own sockets, issue 21) and handing the rest to Kestrel. With <see cref="Tls"/>, the wss listener:
/// the relay does the TLS handshake itself (<c>Upgrade.SocketUpgrade</c>).
/// </summary>
internal sealed class ClientEndPoint(IPAddress address, int port, Tls.CertificateHolder? tls = null) : IPEndPoint(address, port)
{
    /// <summary>The wss listener's certificate; null on the plain listener.</summary>
    public Tls.CertificateHolder? Tls { get; } = tls;
}
