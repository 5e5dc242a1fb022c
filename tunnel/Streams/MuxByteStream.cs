namespace Relay.Tunnel.Streams;

/// <summary>
/// A <see cref="Stream"/> over a <see cref="MuxStream"/> for a byte protocol (issue 18: one HTTP/1.1 connection per
/// stream). Writes go out as binary messages of at most one chunk (one DATA frame each) and wait for flow-control credit, so
/// a writer faster than the peer's reader is held back by the stream's window; reads take one message at a time, so
/// at most one window of unread data waits at the receiver. Dispose closes the stream (1000).
/// </summary>
/// <remarks>
/// A read returns 0 at the peer's normal close (1000); any other end (the backhaul lost the stream, the core going
/// away or refusing it) is an <see cref="IOException"/> naming the code and reason, so an HTTP client never takes a cut
/// body for a whole one. A zero-byte read waits until data is available without taking it.
/// </remarks>
public sealed class MuxByteStream : Stream
{
    private readonly MuxStream _stream;
    private StreamMessage _current;
    private int _offset;
    private bool _hasCurrent;
    private bool _ended;
    private int _disposed;

    /// <summary>Wraps <paramref name="stream"/>; the adapter owns it from now on.</summary>
    public MuxByteStream(MuxStream stream)
    {
        _stream = stream;
    }

    /// <summary>The stream underneath.</summary>
    public MuxStream Inner => _stream;

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!_hasCurrent)
        {
            if (_ended)
            {
                return 0;
            }

            var message = await _stream.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (message.Type == StreamMessageType.Close)
            {
                _ended = true;
                var close = _stream.RemoteClose ?? _stream.CloseInfo;
                if (close is { Code: not StreamCodes.Normal })
                {
                    throw new IOException($"backhaul stream ended: {close.Code} {close.Reason}");
                }

                return 0;
            }

            if (message.Data.Length == 0)
            {
                message.Dispose();
                continue;
            }

            _current = message;
            _offset = 0;
            _hasCurrent = true;
        }

        if (buffer.Length == 0)
        {
            return 0; // data is there; the caller reads it next
        }

        var data = _current.Data.Span[_offset..];
        int n = Math.Min(data.Length, buffer.Length);
        data[..n].CopyTo(buffer.Span);
        _offset += n;
        if (_offset == _current.Data.Length)
        {
            ReleaseCurrent();
        }

        return n;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // One frame per message: the receiver takes each as it came, with no reassembly buffer to grow.
        int max = Math.Min(_stream.MaxMessageSize, _stream.MaxChunkSize);
        while (buffer.Length > 0)
        {
            var part = buffer[..Math.Min(buffer.Length, max)];
            if (!await _stream.SendAsync(part, isText: false, cancellationToken).ConfigureAwait(false))
            {
                var close = _stream.CloseInfo ?? _stream.RemoteClose;
                throw new IOException(close is null ? "backhaul stream closed" : $"backhaul stream ended: {close.Code} {close.Reason}");
            }

            buffer = buffer[part.Length..];
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask; // each write is on the link already

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stream.StopReceiving();
            _stream.Close(StreamCodes.Normal, "connection closed"); // a message being read is left to the GC, not returned under a reader
        }

        base.Dispose(disposing);
    }

    private void ReleaseCurrent()
    {
        if (_hasCurrent)
        {
            _hasCurrent = false;
            _current.Dispose();
            _current = default;
        }
    }
}
