using System.Net;
using Relay.Contracts.Regions;

namespace Relay.Regions;

/// <summary>
/// The subnet → region table, longest prefix first, so the first match is the most specific one (the LUA record
/// walks it in this order and stops at the first match). Written to subnets.tsv too, for operators and the lab.
/// </summary>
internal static class SubnetTable
{
    public static IReadOnlyList<(IPNetwork Subnet, Region Region)> Build(RegionsFile file) =>
        [.. file.Regions
            .SelectMany(r => r.Subnets.Select(s => (Subnet: IPNetwork.Parse(s), Region: r)))
            .OrderByDescending(e => e.Subnet.PrefixLength)];

    /// <summary>A region's answer order: itself, then its fallback regions.</summary>
    public static IEnumerable<string> Order(Region region) => [region.Name, .. region.Fallback];

    public static string Tsv(RegionsFile file)
    {
        var lines = new List<string>
        {
            "# subnet\tregion\tanswer order (the region, then its fallback regions; then any other region in file order), longest prefix first",
            $"# no match: the first region, {file.Regions[0].Name}",
        };
        lines.AddRange(Build(file).Select(e => $"{e.Subnet}\t{e.Region.Name}\t{string.Join(',', Order(e.Region))}"));
        return string.Join('\n', lines) + "\n";
    }
}
