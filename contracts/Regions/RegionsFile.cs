using System.Text.Json;
using Relay.Contracts.Control;

namespace Relay.Contracts.Regions;

/// <summary>
/// The regions file (issue 17): the steered hostname, the regions with the client subnets that belong to each, their
/// fallback order and their relays. One file read by the DNS generator, core-sim, the gateways and the lab. Load it
/// with <see cref="Load"/> or <see cref="Parse"/>: both validate and throw <see cref="FormatException"/> with one line
/// naming the first problem.
/// </summary>
/// <param name="Regions">The regions, in file order.</param>
/// <param name="Hostname">The steered DNS name (FQDN with the trailing dot), e.g. <c>chat.relay.test.</c>; optional.</param>
/// <param name="Zone">The zone PowerDNS serves, e.g. <c>relay.test.</c>; optional.</param>
/// <param name="Ttl">DNS answer TTL in seconds. Defaults to 5.</param>
public sealed record RegionsFile(IReadOnlyList<Region> Regions, string? Hostname = null, string? Zone = null, int Ttl = 5)
{
    /// <summary>Largest regions file read, in bytes.</summary>
    public const int MaxBytes = 1024 * 1024;

    private RegionMap? _map;

    /// <summary>Address → region (longest prefix) and region → candidate regions.</summary>
    public RegionMap Map => _map ??= new RegionMap(Regions.Select(r => new RegionRoute(r.Name, r.Subnets, r.Fallback)));

    /// <summary>Every relay with its region, in file order.</summary>
    public IEnumerable<(Region Region, RegionRelay Relay)> Relays() => Regions.SelectMany(r => r.Relays.Select(x => (r, x)));

    /// <summary>The relay of that id, or null.</summary>
    public (Region Region, RegionRelay Relay)? FindRelay(string id)
    {
        foreach (var (region, relay) in Relays())
        {
            if (string.Equals(relay.Id, id, StringComparison.Ordinal))
            {
                return (region, relay);
            }
        }

        return null;
    }

    /// <summary>Reads and validates the file. Throws <see cref="FormatException"/> (one line naming the path and the problem).</summary>
    public static RegionsFile Load(string path)
    {
        string json;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new FormatException($"regions file '{path}': does not exist.");
            }

            if (info.Length > MaxBytes)
            {
                throw new FormatException($"regions file '{path}': larger than {MaxBytes} bytes.");
            }

            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"regions file '{path}': {e.Message}", e);
        }

        try
        {
            return Parse(json);
        }
        catch (FormatException e)
        {
            throw new FormatException($"regions file '{path}': {e.Message}", e);
        }
    }

    /// <summary>Parses and validates the JSON. Throws <see cref="FormatException"/> with one line naming the first problem.</summary>
    public static RegionsFile Parse(string json)
    {
        if (json.Length > MaxBytes)
        {
            throw new FormatException($"larger than {MaxBytes} bytes.");
        }

        RegionsFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, RegionsJsonContext.Default.RegionsFile);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not a regions file: {e.Message.ReplaceLineEndings(" ")}", e);
        }

        if (file is null)
        {
            throw new FormatException("not a regions file: null.");
        }

        if (RegionsValidation.Check(file) is { } error)
        {
            throw new FormatException(error);
        }

        return file;
    }
}
