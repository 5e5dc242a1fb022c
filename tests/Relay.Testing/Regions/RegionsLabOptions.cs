namespace Relay.Testing.Regions;

/// <summary>One relay region of the lab: its name, how many gateways, its round trip to the eu core.</summary>
public sealed record RegionSpec(string Name, int Relays, TimeSpan RttToCore);

/// <summary>The shape of a <see cref="RegionsLab"/>. The defaults are the world of issue 17.</summary>
public sealed class RegionsLabOptions
{
    /// <summary>Relay regions, in order (region k gets the addresses 10.(70+k).0.0/16). Defaults to sg (two gateways, 160 ms to eu), syd (280 ms), us (150 ms).</summary>
    public IReadOnlyList<RegionSpec> Regions { get; set; } =
    [
        new("sg", 2, TimeSpan.FromMilliseconds(160)),
        new("syd", 1, TimeSpan.FromMilliseconds(280)),
        new("us", 1, TimeSpan.FromMilliseconds(150)),
    ];

    /// <summary>Round trips between relay regions (either order). Defaults: sg–syd 90 ms, sg–us 170 ms, syd–us 140 ms; a pair not listed gets the larger of their round trips to eu.</summary>
    public IReadOnlyDictionary<(string, string), TimeSpan> RegionRtt { get; set; } = new Dictionary<(string, string), TimeSpan>
    {
        [("sg", "syd")] = TimeSpan.FromMilliseconds(90),
        [("sg", "us")] = TimeSpan.FromMilliseconds(170),
        [("syd", "us")] = TimeSpan.FromMilliseconds(140),
    };

    /// <summary>Round trip inside a region (a user to its own region's relays). Defaults to 20 ms.</summary>
    public TimeSpan NearRtt { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>The core's region name. Defaults to eu.</summary>
    public string CoreRegion { get; set; } = "eu";

    /// <summary>Whether the regions file lists the core's own /ws as a relay of the core's region (the last resort: direct). Defaults to true.</summary>
    public bool CoreAsRelay { get; set; } = true;

    /// <summary>The backhaul inside WireGuard (wireguard-go, managed by core-sim and each gateway). Defaults to true; false: plain TCP over the WAN.</summary>
    public bool WireGuard { get; set; } = true;

    /// <summary>
    /// Extra command-line settings for every gateway (e.g. <c>--Gateway:X=…</c>). Placeholders: <c>{regionsFile}</c>
    /// (the lab's regions file), <c>{relayId}</c>, <c>{region}</c>, <c>{address}</c> (the gateway's own).
    /// </summary>
    public IReadOnlyList<string> GatewayArguments { get; set; } = [];

    /// <summary>Extra command-line settings for core-sim. Placeholder: <c>{regionsFile}</c> (the lab's regions file).</summary>
    public IReadOnlyList<string> CoreArguments { get; set; } = [];

    /// <summary>Limit for the whole world to come up. Defaults to 120 s.</summary>
    public TimeSpan StartLimit { get; set; } = TimeSpan.FromSeconds(120);
}
