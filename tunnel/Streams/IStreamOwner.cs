namespace Relay.Tunnel.Streams;

/// <summary>The pool or listener that tracks a stream.</summary>
internal interface IStreamOwner
{
    /// <summary>Called once when the stream has ended.</summary>
    void OnStreamFinished(MuxStream stream);

    /// <summary>A second open link to the stream's peer, other than <paramref name="primary"/>, for copies of small frames; null when there is none.</summary>
    Link? CopyLinkFor(MuxStream stream, Link primary);
}
