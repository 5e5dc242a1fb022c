namespace Relay.Tunnel.Streams;

/// <summary>Where a stream stands with respect to links.</summary>
public enum StreamState
{
    /// <summary>Created; waiting for a link to open on.</summary>
    Pending,
    /// <summary>Re-attaching on a new link; sends are held until the peer answers.</summary>
    Attaching,
    /// <summary>On a link; frames flow.</summary>
    Attached,
    /// <summary>Its link died; waiting to re-attach within the grace period.</summary>
    Detached,
    /// <summary>Ended.</summary>
    Closed,
}
