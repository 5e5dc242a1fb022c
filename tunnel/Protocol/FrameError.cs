namespace Relay.Tunnel.Protocol;

/// <summary>Why a byte sequence is not a valid frame. Every one of them ends the link.</summary>
internal enum FrameError
{
    /// <summary>No error.</summary>
    None,
    /// <summary>The length prefix is above the configured maximum frame size.</summary>
    Oversized,
    /// <summary>The frame body is not the MessagePack array its kind requires.</summary>
    Malformed,
    /// <summary>A required kind (below 64) that this version does not know.</summary>
    UnknownRequiredKind,
}
