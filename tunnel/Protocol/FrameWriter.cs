using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace Relay.Tunnel.Protocol;

/// <summary>
/// Writes length-prefixed MessagePack frames into an <see cref="IBufferWriter{T}"/> (a link's
/// <c>PipeWriter</c>). The hot kinds use fixed-width integers so their length is known before
/// writing: no scratch buffer, no allocation. Rare kinds are encoded through a per-thread scratch
/// buffer and copied.
/// </summary>
internal static class FrameWriter
{
    private const int U64 = 9;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>Bytes a data frame with <paramref name="payloadLength"/> bytes of payload takes on the wire.</summary>
    public static int DataFrameSize(int payloadLength) => FrameReader.PrefixLength + DataBodySize(payloadLength);

    /// <summary>Writes a <see cref="FrameKind.Data"/> frame.</summary>
    public static void WriteData(IBufferWriter<byte> output, ulong streamId, ulong seq, DataFlags flags, ReadOnlySpan<byte> payload)
    {
        WritePrefix(output, DataBodySize(payload.Length));
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(5);
        writer.Write((byte)FrameKind.Data);
        writer.WriteUInt64(streamId);
        writer.WriteUInt64(seq);
        writer.Write((byte)flags);
        writer.Write(payload);
        writer.Flush();
    }

    /// <summary>Writes an <see cref="FrameKind.Ack"/>, <see cref="FrameKind.Attach"/> or <see cref="FrameKind.Attached"/> frame.</summary>
    public static void WriteAck(IBufferWriter<byte> output, FrameKind kind, ulong streamId, ulong seq, ulong creditLimit)
    {
        if (kind is not (FrameKind.Ack or FrameKind.Attach or FrameKind.Attached))
        {
            throw new ArgumentOutOfRangeException(nameof(kind));
        }

        WritePrefix(output, 2 + (3 * U64));
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(4);
        writer.Write((byte)kind);
        writer.WriteUInt64(streamId);
        writer.WriteUInt64(seq);
        writer.WriteUInt64(creditLimit);
        writer.Flush();
    }

    /// <summary>Writes a <see cref="FrameKind.Ping"/> or <see cref="FrameKind.Pong"/> frame.</summary>
    public static void WritePing(IBufferWriter<byte> output, FrameKind kind, ulong timestamp)
    {
        if (kind is not (FrameKind.Ping or FrameKind.Pong))
        {
            throw new ArgumentOutOfRangeException(nameof(kind));
        }

        WritePrefix(output, 2 + U64);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(2);
        writer.Write((byte)kind);
        writer.WriteUInt64(timestamp);
        writer.Flush();
    }

    /// <summary>Writes an <see cref="FrameKind.Accept"/> frame.</summary>
    public static void WriteAccept(IBufferWriter<byte> output, ulong streamId)
    {
        WritePrefix(output, 2 + U64);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(2);
        writer.Write((byte)FrameKind.Accept);
        writer.WriteUInt64(streamId);
        writer.Flush();
    }

    /// <summary>Writes a <see cref="FrameKind.Close"/> frame.</summary>
    public static void WriteClose(IBufferWriter<byte> output, ulong streamId, ulong seq, int code, string reason)
        => WriteViaScratch(output, (FrameKind.Close, streamId, seq, code, reason), static (ref MessagePackWriter w, (FrameKind K, ulong Id, ulong Seq, int Code, string Reason) s) =>
        {
            w.WriteArrayHeader(5);
            w.Write((byte)s.K);
            w.Write(s.Id);
            w.Write(s.Seq);
            w.Write(s.Code);
            w.Write(s.Reason);
        });

    /// <summary>Writes a <see cref="FrameKind.Refuse"/> frame.</summary>
    public static void WriteRefuse(IBufferWriter<byte> output, ulong streamId, int code, string reason)
        => WriteViaScratch(output, (streamId, code, reason), static (ref MessagePackWriter w, (ulong Id, int Code, string Reason) s) =>
        {
            w.WriteArrayHeader(4);
            w.Write((byte)FrameKind.Refuse);
            w.Write(s.Id);
            w.Write(s.Code);
            w.Write(s.Reason);
        });

    /// <summary>Writes a <see cref="FrameKind.GoAway"/> frame.</summary>
    public static void WriteGoAway(IBufferWriter<byte> output, string reason)
        => WriteViaScratch(output, reason, static (ref MessagePackWriter w, string reason) =>
        {
            w.WriteArrayHeader(2);
            w.Write((byte)FrameKind.GoAway);
            w.Write(reason);
        });

    /// <summary>Writes a <see cref="FrameKind.Ready"/> frame with the acceptor's proof of the key.</summary>
    public static void WriteReady(IBufferWriter<byte> output, byte[] proof)
        => WriteViaScratch(output, proof, static (ref MessagePackWriter w, byte[] p) =>
        {
            w.WriteArrayHeader(2);
            w.Write((byte)FrameKind.Ready);
            w.Write(p);
        });

    /// <summary>Writes a <see cref="FrameKind.Hello"/> frame.</summary>
    public static void WriteHello(IBufferWriter<byte> output, HelloInfo hello)
        => WriteViaScratch(output, hello, static (ref MessagePackWriter w, HelloInfo h) =>
        {
            w.WriteArrayHeader(6);
            w.Write((byte)FrameKind.Hello);
            w.Write(h.Version);
            w.Write(h.PeerId);
            w.Write(h.Region);
            w.Write(h.Nonce);
            w.Write(h.Window);
        });

    /// <summary>Writes a <see cref="FrameKind.Challenge"/> frame.</summary>
    public static void WriteChallenge(IBufferWriter<byte> output, HelloInfo challenge)
        => WriteViaScratch(output, challenge, static (ref MessagePackWriter w, HelloInfo h) =>
        {
            w.WriteArrayHeader(5);
            w.Write((byte)FrameKind.Challenge);
            w.Write(h.Version);
            w.Write(h.PeerId);
            w.Write(h.Nonce);
            w.Write(h.Window);
        });

    /// <summary>Writes a <see cref="FrameKind.Proof"/> frame.</summary>
    public static void WriteProof(IBufferWriter<byte> output, byte[] proof)
        => WriteViaScratch(output, proof, static (ref MessagePackWriter w, byte[] p) =>
        {
            w.WriteArrayHeader(2);
            w.Write((byte)FrameKind.Proof);
            w.Write(p);
        });

    /// <summary>Writes an <see cref="FrameKind.Open"/> frame.</summary>
    public static void WriteOpen(IBufferWriter<byte> output, ulong streamId, OpenInfo open)
        => WriteOpen(output, FrameKind.Open, streamId, open);

    /// <summary>Writes an <see cref="FrameKind.Open"/> or <see cref="FrameKind.OpenCopy"/> frame (the same fields).</summary>
    public static void WriteOpen(IBufferWriter<byte> output, FrameKind kind, ulong streamId, OpenInfo open)
        => WriteViaScratch(output, (kind, streamId, open), static (ref MessagePackWriter w, (FrameKind Kind, ulong Id, OpenInfo Open) s) =>
        {
            bool kind = s.Open.Kind != StreamKind.Session; // a session's OPEN is the same bytes as before issue 18
            w.WriteArrayHeader(kind ? 6 : 5);
            w.Write((byte)s.Kind);
            w.Write(s.Id);
            w.Write(s.Open.SessionKey);
            w.Write(s.Open.ClientAddress);
            w.WriteMapHeader(s.Open.Claims.Count);
            foreach (var (key, value) in s.Open.Claims)
            {
                w.Write(key);
                w.Write(value);
            }

            if (kind)
            {
                w.Write(OpenInfo.KindText(s.Open.Kind));
            }
        });

    /// <summary>Writes a <see cref="FrameKind.HealthReport"/> frame.</summary>
    public static void WriteHealthReport(IBufferWriter<byte> output, ReadOnlyMemory<byte> report)
        => WriteViaScratch(output, report, static (ref MessagePackWriter w, ReadOnlyMemory<byte> r) =>
        {
            w.WriteArrayHeader(2);
            w.Write((byte)FrameKind.HealthReport);
            w.Write(r.Span);
        });

    /// <summary>Writes a <see cref="FrameKind.Command"/> frame.</summary>
    public static void WriteCommand(IBufferWriter<byte> output, string name, ReadOnlyMemory<byte> argument)
        => WriteViaScratch(output, (name, argument), static (ref MessagePackWriter w, (string Name, ReadOnlyMemory<byte> Arg) s) =>
        {
            w.WriteArrayHeader(3);
            w.Write((byte)FrameKind.Command);
            w.Write(s.Name);
            w.Write(s.Arg.Span);
        });

    /// <summary>Writes a <see cref="FrameKind.NewStreams"/> frame: whether the core node takes new streams, and why.</summary>
    public static void WriteNewStreams(IBufferWriter<byte> output, bool open, string reason)
        => WriteViaScratch(output, (open, reason), static (ref MessagePackWriter w, (bool Open, string Reason) s) =>
        {
            w.WriteArrayHeader(3);
            w.Write((byte)FrameKind.NewStreams);
            w.Write(s.Open);
            w.Write(s.Reason);
        });

    /// <summary>Writes any decoded frame back out (used by tests and tools; the link uses the typed writers).</summary>
    public static void Write(IBufferWriter<byte> output, in Frame frame)
    {
        switch (frame.Kind)
        {
            case FrameKind.Data: WriteData(output, frame.StreamId, frame.Seq, frame.Flags, frame.Payload.ToArray()); break;
            case FrameKind.Ack or FrameKind.Attach or FrameKind.Attached: WriteAck(output, frame.Kind, frame.StreamId, frame.Seq, frame.Value); break;
            case FrameKind.Ping or FrameKind.Pong: WritePing(output, frame.Kind, frame.Value); break;
            case FrameKind.Accept: WriteAccept(output, frame.StreamId); break;
            case FrameKind.Close: WriteClose(output, frame.StreamId, frame.Seq, frame.Code, frame.Reason); break;
            case FrameKind.Refuse: WriteRefuse(output, frame.StreamId, frame.Code, frame.Reason); break;
            case FrameKind.GoAway: WriteGoAway(output, frame.Reason); break;
            case FrameKind.Ready: WriteReady(output, (byte[])frame.Body!); break;
            case FrameKind.Hello: WriteHello(output, (HelloInfo)frame.Body!); break;
            case FrameKind.Challenge: WriteChallenge(output, (HelloInfo)frame.Body!); break;
            case FrameKind.Proof: WriteProof(output, (byte[])frame.Body!); break;
            case FrameKind.Open or FrameKind.OpenCopy: WriteOpen(output, frame.Kind, frame.StreamId, (OpenInfo)frame.Body!); break;
            case FrameKind.HealthReport: WriteHealthReport(output, frame.Payload.ToArray()); break;
            case FrameKind.Command: WriteCommand(output, frame.Reason, frame.Payload.ToArray()); break;
            case FrameKind.NewStreams: WriteNewStreams(output, frame.Value != 0, frame.Reason); break;
            default: throw new ArgumentOutOfRangeException(nameof(frame), frame.Kind, "not a frame kind");
        }
    }

    private delegate void BodyWriter<TState>(ref MessagePackWriter writer, TState state);

    private static int DataBodySize(int payloadLength)
        => 2 + U64 + U64 + 1 + BinHeaderSize(payloadLength) + payloadLength;

    private static int BinHeaderSize(int length) => length <= byte.MaxValue ? 2 : length <= ushort.MaxValue ? 3 : 5;

    private static void WritePrefix(IBufferWriter<byte> output, int bodyLength)
    {
        BinaryPrimitives.WriteUInt32BigEndian(output.GetSpan(FrameReader.PrefixLength), (uint)bodyLength);
        output.Advance(FrameReader.PrefixLength);
    }

    private static void WriteViaScratch<TState>(IBufferWriter<byte> output, TState state, BodyWriter<TState> body)
    {
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(256);
        scratch.ResetWrittenCount();
        var writer = new MessagePackWriter(scratch);
        body(ref writer, state);
        writer.Flush();
        WritePrefix(output, scratch.WrittenCount);
        output.Write(scratch.WrittenSpan);
    }
}
