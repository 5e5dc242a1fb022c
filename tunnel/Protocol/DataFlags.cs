namespace Relay.Tunnel.Protocol;

/// <summary>Flags of a <see cref="FrameKind.Data"/> frame.</summary>
[Flags]
internal enum DataFlags : byte
{
    /// <summary>Binary, and more chunks of this message follow.</summary>
    None = 0,
    /// <summary>The message is UTF-8 text (websocket text frame).</summary>
    Text = 1,
    /// <summary>This chunk ends the message.</summary>
    EndOfMessage = 2,
}
