namespace Relay.Tunnel.Streams;

/// <summary>The pool or listener that tracks a stream.</summary>
internal interface IStreamOwner
{
    /// <summary>Called once when the stream has ended.</summary>
    void OnStreamFinished(MuxStream stream);
}
