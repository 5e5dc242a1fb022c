namespace Relay.Tunnel.Protocol;

/// <summary>Outcome of <see cref="FrameReader.TryReadFrame"/>.</summary>
internal enum FrameStatus
{
    /// <summary>A whole frame was read.</summary>
    Frame,
    /// <summary>The buffer ends inside a frame: read more bytes.</summary>
    NeedMoreData,
    /// <summary>An optional frame of an unknown kind was skipped.</summary>
    Skipped,
    /// <summary>The input is invalid; see the error. The link must close.</summary>
    Error,
}
