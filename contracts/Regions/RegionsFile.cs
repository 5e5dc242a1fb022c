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

    /// <summary>Caps the DNS generator also holds the file to (<see cref="ParseForDns"/>).</summary>
    public const int MaxRegions = 100, MaxRelays = 1000, MaxSubnets = 10_000;

    /// <summary>The largest DNS TTL the generator writes, seconds.</summary>
    public const int MaxTtl = 86_400;

    /// <summary>The region named <paramref name="name"/>, or null.</summary>
    public Region? Find(string name) => Regions.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// <see cref="Parse"/> plus what the DNS steering needs (tools/Relay.Regions): a hostname in the zone, a TTL, a
    /// readiness URL for every relay, tighter caps. Throws <see cref="InvalidDataException"/> with one line.
    /// </summary>
    public static RegionsFile ParseForDns(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        RegionsFile file;
        try
        {
            file = Deserialize(json);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException(e.Message, e);
        }

        RegionsValidator.Validate(file); // the DNS rules first: their messages name what the generator needs
        if (RegionsValidation.Check(file) is { } error)
        {
            throw new InvalidDataException(error);
        }

        return file;
    }

    /// <summary><see cref="ParseForDns"/> of a file; <see cref="InvalidDataException"/> naming the path.</summary>
    public static RegionsFile LoadForDns(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new InvalidDataException($"{path}: no such file");
        }

        if (info.Length > MaxBytes)
        {
            throw new InvalidDataException($"{path}: {info.Length} bytes, more than the {MaxBytes} allowed");
        }

        try
        {
            return ParseForDns(File.ReadAllText(path));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

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
        var file = Deserialize(json);
        if (RegionsValidation.Check(file) is { } error)
        {
            throw new FormatException(error);
        }

        return file;
    }

    /// <summary>The JSON as a regions file, not yet validated; <see cref="FormatException"/> when it is not one.</summary>
    private static RegionsFile Deserialize(string json)
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

        return file;
    }
}
