using System.Net.Sockets;

namespace Relay.Gateway.Edge;

/// <summary>
/// What runs the plain client listener's connections (issue 21): each admitted socket, which becomes a session on its
/// own socket, a refusal, or is handed to Kestrel with <c>handOver</c>, untouched (<c>Upgrade.SocketUpgrade</c>).
/// </summary>
internal interface IPlainConnections
{
    Task RunAsync(Socket socket, Action<Socket> handOver);
}
