using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Relay.WireGuard.Config;

/// <summary>An address with a prefix length, as in Address (10.0.0.1/24, host bits kept) and AllowedIPs (10.0.0.0/24).</summary>
public sealed record IpCidr(IPAddress Address, int PrefixLength)
{
    /// <summary>The largest prefix for the address family (32 or 128).</summary>
    public int MaxPrefix => Address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    /// <summary>Parses "a.b.c.d/n", "x::y/n", or a bare address (full-length prefix).</summary>
    public static bool TryParse(string text, out IpCidr? value)
    {
        value = null;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string host = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(host, out var address) || host.Contains('%', StringComparison.Ordinal))
        {
            return false;
        }

        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = max;
        if (slash >= 0)
        {
            string digits = text[(slash + 1)..];
            if (digits.Length is 0 or > 3 || !digits.All(char.IsAsciiDigit) || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > max)
            {
                return false;
            }
        }

        value = new IpCidr(address, prefix);
        return true;
    }

    /// <summary>"address/prefix".</summary>
    public override string ToString() => $"{Address}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";
}
