using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>
/// A client listener's address that <see cref="GatedSocketTransportFactory"/> binds as a listener owning its connections
/// (sessions on their own sockets, issue 21) and handing the rest to Kestrel. With <see cref="Tls"/>, the wss listener:
/// the relay does the TLS handshake itself (<c>Upgrade.SocketUpgrade</c>). With <see cref="Owns"/> false (no
/// <c>Gateway:SocketSessions</c>), a client listener whose every connection is Kestrel's: its <see cref="Tls"/> still tells
/// the gate at accept that a connection there costs a TLS handshake (<see cref="ConnectionGate.TlsRate"/>).
/// </summary>
internal sealed class ClientEndPoint(IPAddress address, int port, Tls.CertificateHolder? tls = null, bool owns = true) : IPEndPoint(address, port)
{
    /// <summary>The wss listener's certificate; null on the plain listener.</summary>
    public Tls.CertificateHolder? Tls { get; } = tls;

    /// <summary>True: the listener owns its connections (sessions on their own sockets); false: every one is Kestrel's.</summary>
    public bool Owns { get; } = owns;
}
