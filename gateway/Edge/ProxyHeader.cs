using System.Buffers;
using System.Buffers.Binary;
using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>The outcome of <see cref="ProxyHeader.Parse(in ReadOnlySequence{byte}, out IPEndPoint?, out int)"/>.</summary>
internal enum ProxyParse
{
    /// <summary>Not enough bytes yet; nothing wrong so far.</summary>
    Incomplete,

    /// <summary>A PROXY command with a TCP source (the client behind the proxy).</summary>
    Proxy,

    /// <summary>A LOCAL command (the proxy's own connection, e.g. a health check): the socket's address stands.</summary>
    Local,

    /// <summary>Not a PROXY protocol v2 header this gateway accepts.</summary>
    Invalid,
}

/// <summary>
/// PROXY protocol v2 (HAProxy's binary header, <c>send-proxy-v2</c>): 12-byte signature, version and command,
/// family and transport, big-endian length, addresses, then TLVs (skipped). Strict: version 2 only, command LOCAL or
/// PROXY, and PROXY only over TCP (IPv4 or IPv6). Capped: a header longer than <see cref="MaxLength"/> is refused from
/// its first 16 bytes; parsing copies at most that many bytes to the stack and allocates only the source address.
/// </summary>
internal static class ProxyHeader
{
    /// <summary>The longest header accepted: 16 fixed bytes and 536 of addresses and TLVs (HAProxy's own cap).</summary>
    public const int MaxLength = 16 + 536;

    private const int FixedLength = 16;

    private static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>Parses the header at the start of <paramref name="buffer"/>; <paramref name="length"/> is its size when complete.</summary>
    public static ProxyParse Parse(in ReadOnlySequence<byte> buffer, out IPEndPoint? source, out int length)
    {
        if (buffer.IsSingleSegment)
        {
            return Parse(buffer.FirstSpan, out source, out length);
        }

        Span<byte> head = stackalloc byte[MaxLength];
        int available = (int)Math.Min(buffer.Length, MaxLength);
        buffer.Slice(0, available).CopyTo(head);
        return Parse(head[..available], out source, out length);
    }

    /// <summary>Parses the header at the start of <paramref name="data"/>.</summary>
    public static ProxyParse Parse(ReadOnlySpan<byte> data, out IPEndPoint? source, out int length)
    {
        source = null;
        length = 0;
        int signed = Math.Min(data.Length, Signature.Length);
        if (!data[..signed].SequenceEqual(Signature[..signed]))
        {
            return ProxyParse.Invalid;
        }

        if (data.Length < FixedLength)
        {
            return ProxyParse.Incomplete;
        }

        int version = data[12] >> 4, command = data[12] & 0x0F;
        int family = data[13] >> 4, transport = data[13] & 0x0F;
        int rest = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
        if (version != 2 || command > 1 || FixedLength + rest > MaxLength)
        {
            return ProxyParse.Invalid;
        }

        int addresses = family switch { 1 => 12, 2 => 36, _ => -1 };
        if (command == 1 ? addresses < 0 || transport != 1 || rest < addresses : family > 3 || transport > 2)
        {
            return ProxyParse.Invalid; // PROXY: TCP over IPv4/IPv6 with a whole address block; LOCAL: any well-formed family
        }

        if (data.Length < FixedLength + rest)
        {
            return ProxyParse.Incomplete;
        }

        length = FixedLength + rest;
        if (command == 0)
        {
            return ProxyParse.Local;
        }

        var block = data.Slice(FixedLength, addresses);
        var address = family == 1 ? new IPAddress(block[..4]) : new IPAddress(block[..16]);
        int port = BinaryPrimitives.ReadUInt16BigEndian(block[(family == 1 ? 8 : 32)..]);
        source = new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
        return ProxyParse.Proxy;
    }
}
