using System.Net;
using System.Net.Sockets;
using System.Text;
using Relay.Contracts.Regions;

namespace Relay.Regions;

/// <summary>
/// The steering record: one LUA record (type A for the IPv4 relays, AAAA for the IPv6 ones) whose Lua code picks the
/// asking client's region and answers that region's ready relays, else the first fallback region's with one.
/// <list type="bullet">
/// <item>The client is <c>bestwho</c>: the EDNS client subnet when the query carries one, else the source address;
/// <c>netmask({subnet})</c> matches it. The subnet table is walked longest prefix first; no match is the first region.</item>
/// <item><c>ifurlextup(units, options)</c> (PowerDNS 4.7+) takes a list of units, each a map address → URL; it answers the
/// addresses of the first unit with any URL up (HTTP 2xx), checked in the background every
/// <c>lua-health-checks-interval</c>. The units are the region's relays, then each fallback region's, in order, then every
/// other region's in file order (negotiate's order: a region whose fallback regions are down too is not answered dead relays
/// while another region has ready ones).
/// (<c>ifurlup</c> checks one URL at every address; each relay has its own readiness URL, so ifurlextup.)</item>
/// <item><c>selector='all'</c>: every ready relay of that unit is answered. <c>backupSelector='all'</c>: when no relay of any
/// region is up (also in the first seconds after a start, before the first checks), all of them are answered.</item>
/// </list>
/// The code is written as several quoted strings in one parenthesised record, each with a zone-file comment; PowerDNS
/// joins the strings with spaces. The code holds no double quotes, backslashes or Lua line comments (the validator
/// keeps quotes out of the URLs; names and addresses are checked formats).
/// </summary>
internal static class LuaRecord
{
    private const int CommentColumn = 72;

    /// <summary>The record's zone-file text, or null when no relay has an address of <paramref name="family"/>.</summary>
    public static string? Build(RegionsFile file, AddressFamily family, int timeoutSeconds)
    {
        if (!file.Regions.SelectMany(r => r.Relays).Any(r => IPAddress.Parse(r.Address).AddressFamily == family))
        {
            return null;
        }

        string type = family == AddressFamily.InterNetwork ? "A" : "AAAA";
        var parts = new List<(string Code, string? Comment)> { (";local subnets={", "client subnet -> region, longest prefix first") };
        parts.AddRange(SubnetTable.Build(file).Select(e => ($"{{'{e.Subnet}','{e.Region.Name}'}},", (string?)null)));
        parts.Add(("} ", null));
        parts.Add(("local relays={", $"region -> {{ relay address = its readiness URL }} ({type} records)"));
        foreach (var region in file.Regions)
        {
            var relays = region.Relays.Where(r => IPAddress.Parse(r.Address).AddressFamily == family).Select(r => $"['{r.Address}']='{r.Readyz}'");
            parts.Add(($"['{region.Name}']={{{string.Join(',', relays)}}},", string.Join(", ", region.Relays.Select(r => r.Id))));
        }

        parts.Add(("} ", null));
        parts.Add(("local order={", "region -> itself, then its fallback regions"));
        parts.AddRange(file.Regions.Select(r => ($"['{r.Name}']={{{string.Join(',', SubnetTable.Order(r).Select(n => $"'{n}'"))}}},", (string?)null)));
        parts.Add(("} ", null));
        parts.Add(($"local all={{{string.Join(',', file.Regions.Select(r => $"'{r.Name}'"))}}} ", "every region, in file order: after the fallback regions"));
        parts.Add(($"local region='{file.Regions[0].Name}' ", "no subnet matches: the first region"));
        parts.Add(("for _,s in ipairs(subnets) do if netmask({s[1]}) then region=s[2] break end end ", "bestwho: ECS, else the source"));
        parts.Add(("local units={} local seen={} for _,r in ipairs(order[region]) do units[#units+1]=relays[r] seen[r]=1 end ", "one unit per region, in order"));
        parts.Add(("for _,r in ipairs(all) do if not seen[r] then units[#units+1]=relays[r] end end ", "then any other region (as negotiate)"));
        parts.Add(($"return ifurlextup(units,{{selector='all',backupSelector='all',timeout='{timeoutSeconds}'}})", "first unit with a ready relay"));

        var text = new StringBuilder();
        text.Append(file.Hostname).Append(' ').Append(file.Ttl).Append(" IN LUA ").Append(type).Append(" (\n");
        for (int i = 0; i < parts.Count; i++)
        {
            string line = $"    \"{parts[i].Code}\"" + (i == parts.Count - 1 ? " )" : "");
            text.Append(parts[i].Comment is null ? line : line.PadRight(CommentColumn) + " ; " + parts[i].Comment).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// <c>lua-records-exec-limit</c> for this file: PowerDNS stops a record's code after this many Lua instructions
    /// (1000 by default); the loops grow with the subnets and the regions' answer orders.
    /// </summary>
    public static int ExecLimit(RegionsFile file) =>
        2000 + 50 * file.Regions.Sum(r => r.Subnets.Count) + 20 * file.Regions.Sum(r => r.Relays.Count + 2 + r.Fallback.Count) + 20 * file.Regions.Count;
}
