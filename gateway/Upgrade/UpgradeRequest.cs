using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Relay.Gateway.Upgrade;

/// <summary>What <see cref="UpgradeRequest.Parse"/> found at the start of a connection.</summary>
internal enum UpgradeParse
{
    /// <summary>Not all of the request head has arrived yet.</summary>
    Incomplete,

    /// <summary>Something else (another path or method, HTTP/2, a body, an odd header): Kestrel's HTTP stack takes it.</summary>
    NotOurs,

    /// <summary>A plain HTTP/1.1 websocket upgrade to the session path.</summary>
    WebSocket,
}

/// <summary>
/// A strict parser for the one request the upgrade fast path takes: <c>GET /ws?access_token=… HTTP/1.1</c> with
/// <c>Upgrade: websocket</c>, <c>Connection: Upgrade</c>, <c>Sec-WebSocket-Version: 13</c> and a valid
/// <c>Sec-WebSocket-Key</c> (RFC 6455 §4.2.1). Anything it does not fully understand is <see cref="UpgradeParse.NotOurs"/>
/// and goes, unconsumed, to Kestrel's HTTP/1.1 parser, which answers it as it would have without the fast path.
/// Bounded: a head longer than <see cref="MaxHeadBytes"/> is never buffered here.
/// </summary>
internal sealed class UpgradeRequest
{
    /// <summary>The longest request head the fast path reads (Kestrel's own limit, 32 KiB, applies to the rest).</summary>
    public const int MaxHeadBytes = 8 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ReadOnlySpan<byte> CrLfCrLf => "\r\n\r\n"u8;

    private UpgradeRequest(string key, string? token, string? pow, string? origin, bool offersDeflate)
    {
        Key = key;
        Token = token;
        Pow = pow;
        Origin = origin;
        OffersDeflate = offersDeflate;
    }

    /// <summary>The client's Sec-WebSocket-Key (24 base64 characters).</summary>
    public string Key { get; }

    /// <summary>The <c>access_token</c> query parameter, percent-decoded, or null.</summary>
    public string? Token { get; }

    /// <summary>The <c>pow</c> query parameter (an Under Attack mode solution), percent-decoded, or null.</summary>
    public string? Pow { get; }

    /// <summary>The Origin header, or null.</summary>
    public string? Origin { get; }

    /// <summary>The client offered permessage-deflate.</summary>
    public bool OffersDeflate { get; }

    /// <summary>
    /// Parses the request head at the start of <paramref name="buffer"/>. On <see cref="UpgradeParse.WebSocket"/>,
    /// <paramref name="headLength"/> is the length of the head including its final empty line.
    /// </summary>
    public static UpgradeParse Parse(in ReadOnlySequence<byte> buffer, string path, out UpgradeRequest? request, out int headLength)
    {
        request = null;
        headLength = 0;
        int available = (int)Math.Min(buffer.Length, MaxHeadBytes);
        if (buffer.IsSingleSegment || buffer.First.Length >= available)
        {
            return Parse(buffer.FirstSpan[..available], path, out request, out headLength);
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(available);
        try
        {
            buffer.Slice(0, available).CopyTo(rented);
            return Parse(rented.AsSpan(0, available), path, out request, out headLength);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Parses a contiguous head (at most <see cref="MaxHeadBytes"/> of it).</summary>
    public static UpgradeParse Parse(ReadOnlySpan<byte> data, string path, out UpgradeRequest? request, out int headLength)
    {
        request = null;
        headLength = 0;

        // Decide as early as possible from the request line, so other requests are handed over without waiting.
        ReadOnlySpan<byte> get = "GET "u8;
        int prefix = Math.Min(data.Length, get.Length);
        if (!data[..prefix].SequenceEqual(get[..prefix]))
        {
            return UpgradeParse.NotOurs;
        }

        if (data.Length > get.Length)
        {
            var rest = data[get.Length..];
            int pathPrefix = Math.Min(rest.Length, path.Length);
            for (int i = 0; i < pathPrefix; i++)
            {
                if (rest[i] != path[i])
                {
                    return UpgradeParse.NotOurs;
                }
            }

            if (rest.Length > path.Length && rest[path.Length] is not ((byte)' ' or (byte)'?'))
            {
                return UpgradeParse.NotOurs; // "/wsx", "/ws/", …
            }
        }

        int end = data.IndexOf(CrLfCrLf);
        if (end < 0)
        {
            return data.Length >= MaxHeadBytes ? UpgradeParse.NotOurs : UpgradeParse.Incomplete;
        }

        headLength = end + 4;
        var head = data[..(end + 2)]; // every line ends with CRLF
        int lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = head[..lineEnd];
        head = head[(lineEnd + 2)..];

        // Request line: GET <path>[?query] HTTP/1.1
        if (!requestLine.EndsWith(" HTTP/1.1"u8))
        {
            return UpgradeParse.NotOurs;
        }

        var target = requestLine[get.Length..^" HTTP/1.1".Length];
        if (target.Length == 0 || target.Length > 4096)
        {
            return UpgradeParse.NotOurs;
        }

        foreach (byte b in target)
        {
            if (b <= 0x20 || b >= 0x7F)
            {
                return UpgradeParse.NotOurs;
            }
        }

        string? token = null, pow = null;
        if (target.Length > path.Length)
        {
            if (!TryFindQueryValue(target[(path.Length + 1)..], "access_token"u8, out token) || !TryFindQueryValue(target[(path.Length + 1)..], "pow"u8, out pow))
            {
                return UpgradeParse.NotOurs;
            }
        }

        bool host = false, upgrade = false, connectionUpgrade = false, version = false, deflate = false;
        string? key = null, origin = null;
        while (head.Length > 0)
        {
            lineEnd = head.IndexOf("\r\n"u8);
            var line = head[..lineEnd];
            head = head[(lineEnd + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return UpgradeParse.NotOurs; // no name, obs-fold, whitespace before the colon: Kestrel answers 400
            }

            var name = line[..colon];
            var value = Trim(line[(colon + 1)..]);
            foreach (byte b in value)
            {
                if (b is < 0x20 and not (byte)'\t' || b == 0x7F)
                {
                    return UpgradeParse.NotOurs;
                }
            }

            if (Is(name, "host"u8))
            {
                if (host)
                {
                    return UpgradeParse.NotOurs;
                }

                host = true;
            }
            else if (Is(name, "upgrade"u8))
            {
                upgrade = HasToken(value, "websocket"u8);
            }
            else if (Is(name, "connection"u8))
            {
                connectionUpgrade |= HasToken(value, "upgrade"u8);
            }
            else if (Is(name, "sec-websocket-version"u8))
            {
                version = value.SequenceEqual("13"u8);
            }
            else if (Is(name, "sec-websocket-key"u8))
            {
                if (key is not null || !IsValidKey(value))
                {
                    return UpgradeParse.NotOurs;
                }

                key = Encoding.ASCII.GetString(value);
            }
            else if (Is(name, "origin"u8))
            {
                if (origin is not null)
                {
                    return UpgradeParse.NotOurs;
                }

                origin = Encoding.UTF8.GetString(value);
            }
            else if (Is(name, "sec-websocket-extensions"u8))
            {
                deflate |= value.IndexOf("permessage-deflate"u8) >= 0;
            }
            else if (Is(name, "content-length"u8))
            {
                if (!value.SequenceEqual("0"u8))
                {
                    return UpgradeParse.NotOurs;
                }
            }
            else if (Is(name, "transfer-encoding"u8) || Is(name, "expect"u8))
            {
                return UpgradeParse.NotOurs;
            }
        }

        if (!host || !upgrade || !connectionUpgrade || !version || key is null)
        {
            return UpgradeParse.NotOurs;
        }

        request = new UpgradeRequest(key, token, pow, origin, deflate);
        return UpgradeParse.WebSocket;
    }

    private static bool TryFindQueryValue(ReadOnlySpan<byte> query, ReadOnlySpan<byte> name, out string? value)
    {
        value = null;
        while (query.Length > 0)
        {
            int amp = query.IndexOf((byte)'&');
            var pair = amp < 0 ? query : query[..amp];
            query = amp < 0 ? default : query[(amp + 1)..];
            int eq = pair.IndexOf((byte)'=');
            var key = eq < 0 ? pair : pair[..eq];
            if (value is null && key.SequenceEqual(name))
            {
                var raw = eq < 0 ? default : pair[(eq + 1)..];
                if (!TryUnescape(raw, out value))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool TryUnescape(ReadOnlySpan<byte> raw, out string? value)
    {
        value = null;
        Span<byte> decoded = raw.Length <= 1024 ? stackalloc byte[raw.Length] : new byte[raw.Length];
        int n = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            byte b = raw[i];
            if (b == '+')
            {
                b = (byte)' ';
            }
            else if (b == '%')
            {
                if (i + 2 >= raw.Length || !IsHex(raw[i + 1]) || !IsHex(raw[i + 2]))
                {
                    return false;
                }

                b = (byte)(Hex(raw[i + 1]) << 4 | Hex(raw[i + 2]));
                i += 2;
            }

            decoded[n++] = b;
        }

        try
        {
            value = StrictUtf8.GetString(decoded[..n]);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        static bool IsHex(byte c) => c is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
        static int Hex(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    }

    private static bool IsValidKey(ReadOnlySpan<byte> value)
    {
        // 16 random bytes, base64: 24 characters ending in "==".
        if (value.Length != 24)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[18];
        return Base64.DecodeFromUtf8(value, bytes, out _, out int written) == OperationStatus.Done && written == 16;
    }

    private static bool IsToken(ReadOnlySpan<byte> name)
    {
        foreach (byte b in name)
        {
            if (b <= 0x20 || b >= 0x7F || "()<>@,;:\\\"/[]?={}"u8.IndexOf(b) >= 0)
            {
                return false;
            }
        }

        return true;
    }

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> lower)
    {
        if (name.Length != lower.Length)
        {
            return false;
        }

        for (int i = 0; i < name.Length; i++)
        {
            if ((name[i] | 0x20) != lower[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lower)
    {
        while (value.Length > 0)
        {
            int comma = value.IndexOf((byte)',');
            var item = Trim(comma < 0 ? value : value[..comma]);
            value = comma < 0 ? default : value[(comma + 1)..];
            if (Is(item, lower))
            {
                return true;
            }
        }

        return false;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> value) => value.Trim(" \t"u8);
}
