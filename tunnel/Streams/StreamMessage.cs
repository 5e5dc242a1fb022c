namespace Relay.Tunnel.Streams;

/// <summary>What a <see cref="StreamMessage"/> carries.</summary>
public enum StreamMessageType
{
    /// <summary>A binary message.</summary>
    Binary,
    /// <summary>A UTF-8 text message.</summary>
    Text,
    /// <summary>The stream has ended; see <see cref="MuxStream.CloseInfo"/>.</summary>
    Close,
}

/// <summary>
/// One whole message received on a stream. Its buffer is rented: call <see cref="Dispose"/> once
/// when done with <see cref="Data"/>.
/// </summary>
public readonly struct StreamMessage : IDisposable
{
    private readonly byte[]? _buffer;
    private readonly int _length;

    internal StreamMessage(StreamMessageType type, byte[]? buffer, int length)
    {
        Type = type;
        _buffer = buffer;
        _length = length;
    }

    /// <summary>The end-of-stream marker.</summary>
    public static StreamMessage Closed => new(StreamMessageType.Close, null, 0);

    /// <summary>Text, binary, or the end of the stream.</summary>
    public StreamMessageType Type { get; }

    /// <summary>The message bytes.</summary>
    public ReadOnlyMemory<byte> Data => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _length);

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        if (_buffer is { Length: > 0 })
        {
            RetainedBuffers.Return(_buffer);
        }
    }
}
