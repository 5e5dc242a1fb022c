namespace Relay.Gateway.Sessions;

/// <summary>
/// What a session's transport as a <see cref="Stream"/> under <see cref="System.Net.WebSockets.WebSocket.CreateFromStream(Stream, System.Net.WebSockets.WebSocketCreationOptions)"/>
/// has in common: asynchronous reads and writes of memory (the derived class's), nothing buffered to flush, no seeking,
/// no synchronous I/O.
/// </summary>
internal abstract class AsyncDuplexStream : Stream
{
    private double _pongTokens;
    private long _pongStamp;

    /// <summary>The pongs the websocket over this stream may write (<see cref="PongRate"/>); null: every one.</summary>
    public PongRate? Pongs { get; set; }

    /// <summary>Whether a write is a pong beyond <see cref="Pongs"/>: the derived class's write then writes nothing.</summary>
    protected bool DropsPong(ReadOnlyMemory<byte> source) => Pongs is { } rate && rate.Drops(source.Span, ref _pongTokens, ref _pongStamp);

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Use ReadAsync.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Use WriteAsync.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
