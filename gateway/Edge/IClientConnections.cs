using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Relay.Gateway.Edge;

/// <summary>
/// What runs a client listener's own connections (issue 21, <see cref="ClientEndPoint"/>): each admitted socket becomes
/// a session on its own socket, a refusal, or goes to Kestrel through <see cref="IConnectionHandOver"/>
/// (<c>Upgrade.SocketUpgrade</c>). On the TLS listener it does the TLS handshake itself first.
/// </summary>
internal interface IClientConnections
{
    Task RunAsync(Socket socket, IConnectionHandOver handOver, Tls.CertificateHolder? tls);
}

/// <summary>How an owned connection goes to Kestrel.</summary>
internal interface IConnectionHandOver
{
    /// <summary>Untouched, through the listener's whole connection pipeline (TLS included on the TLS listener).</summary>
    void HandOver(Socket socket);

    /// <summary>Already decrypted (<c>Upgrade.DecryptedConnection</c>): the pipeline after its TLS middleware.</summary>
    void HandOver(ConnectionContext decrypted);
}
