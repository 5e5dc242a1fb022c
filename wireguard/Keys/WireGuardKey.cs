using System.Security.Cryptography;

namespace Relay.WireGuard.Keys;

/// <summary>
/// A 32-byte WireGuard key (Curve25519 private, public, or preshared). Base64 in .conf files,
/// lower-case hex in the UAPI. <see cref="ToString"/> never shows the key, so a key that reaches
/// a log line or an exception message is redacted.
/// </summary>
public sealed class WireGuardKey : IEquatable<WireGuardKey>
{
    /// <summary>Key length in bytes.</summary>
    public const int Length = 32;

    private readonly byte[] _bytes;

    private WireGuardKey(byte[] bytes)
    {
        _bytes = bytes;
    }

    /// <summary>The key bytes (a copy).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>True when all bytes are zero (the UAPI's "no key").</summary>
    public bool IsZero => _bytes.AsSpan().IndexOfAnyExcept((byte)0) < 0;

    /// <summary>Wraps 32 bytes (copied).</summary>
    public static WireGuardKey FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException($"A WireGuard key is {Length} bytes; got {bytes.Length}.", nameof(bytes));
        }

        return new WireGuardKey(bytes.ToArray());
    }

    /// <summary>A random 32-byte key (for PresharedKey).</summary>
    public static WireGuardKey Random() => new(RandomNumberGenerator.GetBytes(Length));

    /// <summary>Parses the base64 form (44 characters, as in .conf files and `wg genkey`).</summary>
    public static bool TryParseBase64(string? text, out WireGuardKey? key)
    {
        key = null;
        if (text is null || text.Length != 44 || text[43] != '=')
        {
            return false;
        }

        var bytes = new byte[Length];
        if (!Convert.TryFromBase64String(text, bytes, out int written) || written != Length)
        {
            return false;
        }

        key = new WireGuardKey(bytes);
        return true;
    }

    /// <summary>Parses the base64 form or throws <see cref="FormatException"/> (without echoing the text).</summary>
    public static WireGuardKey ParseBase64(string text) =>
        TryParseBase64(text, out var key) ? key! : throw new FormatException("not a WireGuard key: expected 44 characters of base64 encoding 32 bytes");

    /// <summary>Parses the UAPI hex form (64 hex digits).</summary>
    public static bool TryParseHex(string? text, out WireGuardKey? key)
    {
        key = null;
        if (text is null || text.Length != Length * 2)
        {
            return false;
        }

        try
        {
            key = new WireGuardKey(Convert.FromHexString(text));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The base64 form. Handle with care: for a private key this is the secret.</summary>
    public string ToBase64() => Convert.ToBase64String(_bytes);

    /// <summary>The UAPI form: 64 lower-case hex digits.</summary>
    public string ToHex() => Convert.ToHexStringLower(_bytes);

    /// <summary>Copies the key into <paramref name="destination"/> (32 bytes).</summary>
    public void CopyTo(Span<byte> destination) => _bytes.CopyTo(destination);

    /// <summary>Never the key: "(redacted key)".</summary>
    public override string ToString() => "(redacted key)";

    /// <inheritdoc/>
    public bool Equals(WireGuardKey? other) => other is not null && CryptographicOperations.FixedTimeEquals(_bytes, other._bytes);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as WireGuardKey);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 0);
}
