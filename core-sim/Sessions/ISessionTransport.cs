namespace Relay.CoreSim.Sessions;

/// <summary>
/// One connection carrying session-protocol JSON text messages: a direct websocket or a backhaul
/// stream. The session engine is written once against this. One receiver and one sender at a time.
/// </summary>
internal interface ISessionTransport
{
    /// <summary>The relay the connection came through, or null for a direct websocket.</summary>
    string? RelayId { get; }

    /// <summary>The client's address as the relay saw it (its stream's open info), or null for a direct websocket or an address that does not parse.</summary>
    System.Net.IPAddress? ClientAddress { get; }

    /// <summary>The session id and resume token the relay minted for this connection (issue 22's edge welcome, carried in
    /// the stream's OPEN), or null: a direct websocket, or a relay that does not welcome at the edge.</summary>
    (string Session, string ResumeToken)? EdgeSession { get; }

    /// <summary>Receives the next whole text message, or null once the connection has ended.</summary>
    ValueTask<byte[]?> ReceiveAsync(CancellationToken cancellationToken);

    /// <summary>Sends one text message; false when the connection has ended.</summary>
    ValueTask<bool> SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken);

    /// <summary>Closes with a websocket close code, after anything already sent. Idempotent.</summary>
    ValueTask CloseAsync(int code, string reason);

    /// <summary>Ends the connection at once.</summary>
    void Abort();
}
