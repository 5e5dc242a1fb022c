using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace Relay.Tunnel.Protocol;

/// <summary>
/// Reads length-prefixed MessagePack frames from a <see cref="ReadOnlySequence{T}"/>:
/// a 4-byte big-endian body length, then a MessagePack array whose first element is the kind.
/// </summary>
internal static class FrameReader
{
    /// <summary>Size of the length prefix.</summary>
    public const int PrefixLength = 4;

    /// <summary>
    /// Tries to read one frame from the start of <paramref name="buffer"/>. On
    /// <see cref="FrameStatus.Frame"/> and <see cref="FrameStatus.Skipped"/>, <paramref name="buffer"/>
    /// is advanced past the frame; otherwise it is left as it was. Never throws on bad input.
    /// </summary>
    public static FrameStatus TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out Frame frame, out FrameError error)
    {
        frame = default;
        error = FrameError.None;
        if (buffer.Length < PrefixLength)
        {
            return FrameStatus.NeedMoreData;
        }

        uint length;
        if (buffer.FirstSpan.Length >= PrefixLength)
        {
            length = BinaryPrimitives.ReadUInt32BigEndian(buffer.FirstSpan);
        }
        else
        {
            Span<byte> prefix = stackalloc byte[PrefixLength];
            buffer.Slice(0, PrefixLength).CopyTo(prefix);
            length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        }

        if (length > (uint)maxFrameSize || length == 0)
        {
            error = length == 0 ? FrameError.Malformed : FrameError.Oversized;
            return FrameStatus.Error;
        }

        if (buffer.Length < PrefixLength + length)
        {
            return FrameStatus.NeedMoreData;
        }

        var body = buffer.Slice(PrefixLength, length);
        var status = TryDecodeBody(body, out frame, out error);
        if (status != FrameStatus.Error)
        {
            buffer = buffer.Slice(body.End);
        }

        return status;
    }

    /// <summary>Decodes a frame body (without its length prefix).</summary>
    public static FrameStatus TryDecodeBody(ReadOnlySequence<byte> body, out Frame frame, out FrameError error)
    {
        frame = default;
        error = FrameError.None;
        try
        {
            var reader = new MessagePackReader(body);
            if (reader.NextMessagePackType != MessagePackType.Array)
            {
                error = FrameError.Malformed;
                return FrameStatus.Error;
            }

            int count = reader.ReadArrayHeader();
            if (count < 1 || reader.NextMessagePackType != MessagePackType.Integer)
            {
                error = FrameError.Malformed;
                return FrameStatus.Error;
            }

            uint rawKind = reader.ReadUInt32();
            if (rawKind > byte.MaxValue || !Enum.IsDefined((FrameKind)rawKind))
            {
                if (rawKind >= (uint)FrameKind.FirstOptional)
                {
                    return FrameStatus.Skipped;
                }

                error = FrameError.UnknownRequiredKind;
                return FrameStatus.Error;
            }

            var kind = (FrameKind)rawKind;
            if (count - 1 < MinFields(kind))
            {
                error = FrameError.Malformed;
                return FrameStatus.Error;
            }

            frame = kind switch
            {
                FrameKind.Data => new Frame(kind, reader.ReadUInt64(), reader.ReadUInt64(), flags: ReadFlags(ref reader), payload: ReadBin(ref reader)),
                FrameKind.Ack or FrameKind.Attach or FrameKind.Attached => new Frame(kind, reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64()),
                FrameKind.Ping or FrameKind.Pong => new Frame(kind, value: reader.ReadUInt64()),
                FrameKind.Accept => new Frame(kind, reader.ReadUInt64()),
                FrameKind.Close => new Frame(kind, reader.ReadUInt64(), reader.ReadUInt64(), code: reader.ReadInt32(), body: ReadString(ref reader)),
                FrameKind.Refuse => new Frame(kind, reader.ReadUInt64(), code: reader.ReadInt32(), body: ReadString(ref reader)),
                FrameKind.GoAway => new Frame(kind, body: ReadString(ref reader)),
                FrameKind.Hello => new Frame(kind, body: new HelloInfo(reader.ReadInt32(), ReadString(ref reader), ReadString(ref reader), ReadBinArray(ref reader), reader.ReadInt32())),
                FrameKind.Challenge => new Frame(kind, body: new HelloInfo(reader.ReadInt32(), ReadString(ref reader), string.Empty, ReadBinArray(ref reader), reader.ReadInt32())),
                FrameKind.Proof => new Frame(kind, body: ReadBinArray(ref reader)),
                FrameKind.Ready => new Frame(kind, body: ReadBinArray(ref reader)),
                FrameKind.Open or FrameKind.OpenCopy => new Frame(kind, reader.ReadUInt64(), body: ReadOpen(ref reader, count - 1 > MinFields(kind))),
                FrameKind.HealthReport => new Frame(kind, payload: ReadBin(ref reader)),
                FrameKind.Command => new Frame(kind, body: ReadString(ref reader), payload: ReadBin(ref reader)),
                FrameKind.NewStreams => new Frame(kind, value: reader.ReadBoolean() ? 1UL : 0UL, body: ReadString(ref reader)),
                _ => throw new MessagePackSerializationException("unreachable kind"),
            };

            // Fields added by later versions are skipped; bytes after the array are not allowed.
            for (int i = count - 1 - MinFields(kind) - OptionalFieldsRead(kind, count); i > 0; i--)
            {
                reader.Skip();
            }

            if (!reader.End)
            {
                frame = default;
                error = FrameError.Malformed;
                return FrameStatus.Error;
            }

            return FrameStatus.Frame;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException or InvalidOperationException or ArgumentException)
        {
            frame = default;
            error = FrameError.Malformed;
            return FrameStatus.Error;
        }
    }

    /// <summary>Number of fields after the kind that a frame of this kind must have.</summary>
    internal static int MinFields(FrameKind kind) => kind switch
    {
        FrameKind.Hello => 5,
        FrameKind.Challenge => 4,
        FrameKind.Proof => 1,
        FrameKind.Ready => 1,
        FrameKind.Open or FrameKind.OpenCopy => 4,
        FrameKind.Accept => 1,
        FrameKind.Refuse => 3,
        FrameKind.Data => 4,
        FrameKind.Ack => 3,
        FrameKind.Close => 4,
        FrameKind.Ping => 1,
        FrameKind.Pong => 1,
        FrameKind.GoAway => 1,
        FrameKind.Attach => 3,
        FrameKind.Attached => 3,
        FrameKind.HealthReport => 1,
        FrameKind.Command => 2,
        FrameKind.NewStreams => 2,
        _ => 0,
    };

    /// <summary>Optional fields this version reads after the required ones (OPEN's stream kind, issue 18).</summary>
    private static int OptionalFieldsRead(FrameKind kind, int count) => kind is FrameKind.Open or FrameKind.OpenCopy && count - 1 > MinFields(kind) ? 1 : 0;

    private static DataFlags ReadFlags(ref MessagePackReader reader)
    {
        byte flags = reader.ReadByte();
        if ((flags & ~(byte)(DataFlags.Text | DataFlags.EndOfMessage)) != 0)
        {
            throw new MessagePackSerializationException("unknown data flags");
        }

        return (DataFlags)flags;
    }

    private static ReadOnlySequence<byte> ReadBin(ref MessagePackReader reader)
        => reader.ReadBytes() ?? throw new MessagePackSerializationException("nil where bytes expected");

    private static byte[] ReadBinArray(ref MessagePackReader reader)
    {
        var bytes = ReadBin(ref reader);
        if (bytes.Length > 256)
        {
            throw new MessagePackSerializationException("nonce or proof too long");
        }

        return bytes.ToArray();
    }

    private static string ReadString(ref MessagePackReader reader)
        => reader.ReadString() ?? throw new MessagePackSerializationException("nil where string expected");

    private static OpenInfo ReadOpen(ref MessagePackReader reader, bool hasKind)
    {
        string sessionKey = ReadString(ref reader);
        string address = ReadString(ref reader);
        int n = reader.ReadMapHeader();
        if (n > 64)
        {
            throw new MessagePackSerializationException("too many claims");
        }

        var claims = new Dictionary<string, string>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            string key = ReadString(ref reader);
            claims[key] = ReadString(ref reader);
        }

        var kind = hasKind ? OpenInfo.ParseKind(ReadString(ref reader)) : StreamKind.Session;
        return new OpenInfo(sessionKey, address, claims, kind);
    }
}
