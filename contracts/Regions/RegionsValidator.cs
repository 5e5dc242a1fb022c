using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text.RegularExpressions;

namespace Relay.Contracts.Regions;

/// <summary>The regions file's rules; the first broken one is thrown as a one-line <see cref="InvalidDataException"/>.</summary>
internal static partial class RegionsValidator
{
    public static void Validate(RegionsFile file)
    {
        string zone = Name(file.Zone, "zone");
        string hostname = Name(file.Hostname, "hostname");
        if (!hostname.Equals(zone, StringComparison.OrdinalIgnoreCase) && !hostname.EndsWith("." + zone, StringComparison.OrdinalIgnoreCase))
        {
            Fail($"hostname '{hostname}' is not in zone '{zone}'");
        }

        if (file.Ttl < 0 || file.Ttl > RegionsFile.MaxTtl)
        {
            Fail($"ttl {file.Ttl} is not between 0 and {RegionsFile.MaxTtl} seconds");
        }

        if (file.Regions.Count == 0)
        {
            Fail("no regions");
        }

        if (file.Regions.Count > RegionsFile.MaxRegions)
        {
            Fail($"{file.Regions.Count} regions, more than the {RegionsFile.MaxRegions} allowed");
        }

        // JSON nulls inside lists get past the nullable annotations (they cover fields, not list items).
        if (file.Regions.Any(r => r is null))
        {
            Fail("a region is null");
        }

        if (file.Regions.FirstOrDefault(r => r.Subnets.Contains(null!) || r.Fallback.Contains(null!) || r.Relays.Contains(null!)) is { } withNull)
        {
            Fail($"region '{withNull.Name}': null in subnets, fallback or relays");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var region in file.Regions)
        {
            if (!RegionName().IsMatch(region.Name))
            {
                Fail($"region name '{region.Name}' is not 1-32 letters, digits, '-' or '_'");
            }

            if (!names.Add(region.Name))
            {
                Fail($"region '{region.Name}' is listed twice");
            }
        }

        var relayIds = new HashSet<string>(StringComparer.Ordinal);
        var subnets = new Dictionary<IPNetwork, string>();
        int relays = 0;
        foreach (var region in file.Regions)
        {
            string where = $"region '{region.Name}'";
            foreach (string subnet in region.Subnets)
            {
                // IPNetwork.TryParse clears host bits ("10.71.1.5/24" reads as 10.71.1.0/24): such a subnet is a typo.
                IPNetwork network = default;
                if (!subnet.Contains('/', StringComparison.Ordinal) || !IPNetwork.TryParse(subnet, out network) || !IPAddress.Parse(subnet.AsSpan(0, subnet.IndexOf('/'))).Equals(network.BaseAddress))
                {
                    Fail($"{where}: bad CIDR '{subnet}' (an address/prefix with no host bits set, e.g. 10.71.1.0/24)");
                }

                if (subnets.TryGetValue(network, out var owner))
                {
                    Fail(owner == region.Name ? $"{where}: subnet {subnet} is listed twice" : $"{where}: subnet {subnet} is also in region '{owner}'");
                }

                subnets.Add(network, region.Name);
                if (subnets.Count > RegionsFile.MaxSubnets)
                {
                    Fail($"more than {RegionsFile.MaxSubnets} subnets");
                }
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (string fallback in region.Fallback)
            {
                if (!names.Contains(fallback))
                {
                    Fail($"{where}: unknown fallback region '{fallback}'");
                }

                if (fallback == region.Name)
                {
                    Fail($"{where}: falls back to itself");
                }

                if (!seen.Add(fallback))
                {
                    Fail($"{where}: fallback region '{fallback}' is listed twice");
                }
            }

            if (region.Relays.Count == 0 && region.Fallback.Count == 0)
            {
                Fail($"{where}: no relays and no fallback region, its users would get no answer");
            }

            foreach (var relay in region.Relays)
            {
                if (string.IsNullOrWhiteSpace(relay.Id))
                {
                    Fail($"{where}: a relay has an empty id");
                }

                // The id is written into the zone file's comments, the address into the record's code: one line each.
                if (relay.Id.Length > Control.RelayHealthReport.MaxRelayIdLength || relay.Id.Any(char.IsControl))
                {
                    Fail($"{where}: bad relay id '{Printable(relay.Id)}' (1-{Control.RelayHealthReport.MaxRelayIdLength} characters, no control characters)");
                }

                if (!relayIds.Add(relay.Id))
                {
                    Fail($"{where}: duplicate relay id '{relay.Id}'");
                }

                string who = $"{where}, relay '{relay.Id}'";
                // IPv4 in its dotted-quad form only (IPAddress also reads "10.71" as 10.0.0.71).
                // IPv6 as hex digits and colons only (IPAddress also reads a scope id, "fe80::1%eth0", and brackets with a port).
                if (!IPAddress.TryParse(relay.Address, out var address)
                    || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? address.ToString() != relay.Address : !relay.Address.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')))
                {
                    Fail($"{who}: bad address '{Printable(relay.Address ?? "")}' (an IPv4 or IPv6 address, no scope id)");
                }

                if (!Uri.TryCreate(relay.Url, UriKind.Absolute, out var url) || url.Scheme is not ("ws" or "wss"))
                {
                    Fail($"{who}: bad url '{relay.Url}' (ws:// or wss://)");
                }

                if (!Uri.TryCreate(relay.Readyz, UriKind.Absolute, out var readyz) || readyz.Scheme is not ("http" or "https") || !SafeUrl(relay.Readyz!))
                {
                    Fail($"{who}: bad readyz '{relay.Readyz}' (http:// or https://, no quotes, backslashes or spaces)");
                }
            }

            relays += region.Relays.Count;
            if (relays > RegionsFile.MaxRelays)
            {
                Fail($"more than {RegionsFile.MaxRelays} relays");
            }
        }

        if (relays == 0)
        {
            Fail("no relays in any region");
        }
    }

    private static string Name(string? name, string field)
    {
        if (name is null)
        {
            Fail($"no {field} (the DNS steering needs one)");
        }

        if (!DnsName().IsMatch(name))
        {
            Fail($"{field} '{name}' is not a fully qualified DNS name with its trailing dot (e.g. relay.test.)");
        }

        return name;
    }

    // An error is one line: control characters of a value it names are shown as '?'.
    private static string Printable(string text) => string.Concat(text.Select(c => char.IsControl(c) ? '?' : c));

    // The readiness URL goes into a generated LUA record between single quotes (docs/regions.md).
    private static bool SafeUrl(string url) => url.All(c => c > ' ' && c < 127 && c is not ('\'' or '"' or '\\'));

    [DoesNotReturn]
    private static void Fail(string message) => throw new InvalidDataException(message);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    private static partial Regex RegionName();

    [GeneratedRegex(@"^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.){1,127}$")]
    private static partial Regex DnsName();
}
