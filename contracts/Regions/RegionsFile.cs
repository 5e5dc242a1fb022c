using System.Text.Json;

namespace Relay.Contracts.Regions;

/// <summary>
/// The regions file (docs/regions.md): the steered DNS name, its zone, the answer TTL and every region with its
/// users' subnets, its fallback order and its relays. One file is read by the DNS generator (tools/Relay.Regions),
/// core-sim, the gateways and the lab. <see cref="Load"/> and <see cref="Parse"/> validate it and throw
/// <see cref="InvalidDataException"/> with a one-line message naming what is wrong.
/// </summary>
/// <param name="Hostname">The steered name, a fully qualified name with its trailing dot ("chat.relay.test.").</param>
/// <param name="Zone">The zone PowerDNS serves ("relay.test."); <paramref name="Hostname"/> is in it.</param>
/// <param name="Ttl">The DNS answers' TTL in seconds: how long resolvers keep a steering decision.</param>
/// <param name="Regions">The regions; the first is the region of clients whose address matches no subnet.</param>
public sealed record RegionsFile(string Hostname, string Zone, int Ttl, IReadOnlyList<Region> Regions)
{
    /// <summary>The largest file read: 1 MiB.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>At most 100 regions, 1000 relays and 10 000 subnets in one file.</summary>
    public const int MaxRegions = 100, MaxRelays = 1000, MaxSubnets = 10_000;

    /// <summary>The longest TTL accepted: one day.</summary>
    public const int MaxTtl = 86_400;

    private static readonly JsonSerializerOptions s_json = new(RegionsJsonContext.Default.Options)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads and validates the file at <paramref name="path"/>; the message of the exception starts with the path.</summary>
    public static RegionsFile Load(string path)
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
            return Parse(File.ReadAllText(path));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Parses and validates a regions file's JSON (comments and trailing commas allowed).</summary>
    public static RegionsFile Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > MaxBytes)
        {
            throw new InvalidDataException($"{json.Length} characters, more than the {MaxBytes} allowed");
        }

        RegionsFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<RegionsFile>)s_json.GetTypeInfo(typeof(RegionsFile)));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("not a regions file: " + OneLine(e.Message), e);
        }

        if (file is null)
        {
            throw new InvalidDataException("not a regions file: null");
        }

        RegionsValidator.Validate(file);
        return file;
    }

    /// <summary>The region named <paramref name="name"/>, or null.</summary>
    public Region? Find(string name) => Regions.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.Ordinal));

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
