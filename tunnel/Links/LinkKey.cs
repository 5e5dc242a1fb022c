using System.Security.Cryptography;
using System.Text;

namespace Relay.Tunnel.Links;

/// <summary>
/// Backhaul link keys as configured: base64 of at least <see cref="MinimumBytes"/> random bytes (one per relay; the
/// core holds each in its keyring). In the Development environment a development key (any text of at least 16 UTF-8
/// bytes, e.g. <see cref="DevelopmentKey"/>) is accepted too; both ends read a key with <see cref="TryParse"/>, so
/// they agree on its bytes.
/// </summary>
public static class LinkKey
{
    /// <summary>Random bytes a key holds at least (outside Development). 32.</summary>
    public const int MinimumBytes = 32;

    /// <summary>The development key both hosts fall back to in the Development environment. Never use it outside a laptop.</summary>
    public const string DevelopmentKey = "relay-dev-shared-key-change-me";

    /// <summary>A fresh key: base64 of <see cref="MinimumBytes"/> random bytes.</summary>
    public static string Generate() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(MinimumBytes));

    /// <summary>
    /// Reads a configured key: base64 of at least 32 bytes gives those bytes; otherwise, when
    /// <paramref name="development"/>, text of at least 16 UTF-8 bytes gives its UTF-8 bytes. False with the reason
    /// (one line, no key material) when it is neither.
    /// </summary>
    public static bool TryParse(string? text, bool development, out byte[] key, out string error)
    {
        key = [];
        error = string.Empty;
        if (!string.IsNullOrEmpty(text))
        {
            var decoded = new byte[text.Length];
            if (Convert.TryFromBase64String(text, decoded, out int written) && written >= MinimumBytes)
            {
                key = decoded[..written];
                return true;
            }

            if (development && Encoding.UTF8.GetByteCount(text) >= 16)
            {
                key = Encoding.UTF8.GetBytes(text);
                return true;
            }
        }

        error = development
            ? $"must be base64 of at least {MinimumBytes} random bytes (a keygen prints one), or in Development a text of at least 16 bytes"
            : $"must be base64 of at least {MinimumBytes} random bytes (`dotnet Relay.CoreSim.dll keygen` prints one); a development key is accepted only in the Development environment";
        return false;
    }
}
