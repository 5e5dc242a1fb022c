using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Relay.Contracts.Control;

/// <summary>
/// The one codec of the relay ↔ core control plane, used by gateway and core-sim: UTF-8 JSON
/// (System.Text.Json, source-generated) inside the backhaul's HealthReport and Command frames. Decoding never
/// throws: a malformed message, or an order of an unknown name, is reported as false and is the caller's to skip.
/// </summary>
public static class ControlCodec
{
    /// <summary>Command name of a <see cref="FleetView"/>.</summary>
    public const string FleetCommand = "fleet";

    /// <summary>Command name of a <see cref="DrainOrder"/>.</summary>
    public const string DrainCommand = "drain";

    /// <summary>Command name of an <see cref="UndrainOrder"/>.</summary>
    public const string UndrainCommand = "undrain";

    /// <summary>Command name of an <see cref="UnderAttackOrder"/>.</summary>
    public const string UnderAttackCommand = "under-attack";

    /// <summary>Command name of a <see cref="RebalanceOrder"/> (issue 17).</summary>
    public const string RebalanceCommand = "rebalance";

    /// <summary>Command name of a <see cref="CachePurgeOrder"/> (issue 18).</summary>
    public const string CachePurgeCommand = "cache-purge";

    /// <summary>Longest path prefix a <see cref="CachePurgeOrder"/> may carry.</summary>
    public const int MaxPurgeLength = 1024;

    /// <summary>Longest tag a <see cref="CachePurgeOrder"/> may carry.</summary>
    public const int MaxPurgeTagLength = 128;

    /// <summary>Longest region name a <see cref="RebalanceOrder"/> may carry (a longer or empty one does not decode).</summary>
    public const int MaxRegionLength = 64;

    /// <summary>Encodes a relay's health report (the HealthReport frame's payload).</summary>
    public static byte[] EncodeReport(RelayHealthReport report) =>
        JsonSerializer.SerializeToUtf8Bytes(report, ControlJsonContext.Default.RelayHealthReport);

    /// <summary>Decodes a health report; false when <paramref name="utf8"/> is not one, or one out of bounds (<see cref="RelayHealthReport.Problem"/>).</summary>
    public static bool TryDecodeReport(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out RelayHealthReport? report)
    {
        report = Deserialize(utf8, ControlJsonContext.Default.RelayHealthReport) is { } decoded && decoded.Problem() is null ? decoded : null;
        return report is not null;
    }

    /// <summary>Encodes an order from the core as a Command frame's name and payload.</summary>
    public static EncodedOrder Encode(CoreOrder order) => order switch
    {
        FleetView fleet => new(FleetCommand, JsonSerializer.SerializeToUtf8Bytes(fleet, ControlJsonContext.Default.FleetView)),
        DrainOrder drain => new(DrainCommand, JsonSerializer.SerializeToUtf8Bytes(drain, ControlJsonContext.Default.DrainOrder)),
        UndrainOrder undrain => new(UndrainCommand, JsonSerializer.SerializeToUtf8Bytes(undrain, ControlJsonContext.Default.UndrainOrder)),
        UnderAttackOrder underAttack => new(UnderAttackCommand, JsonSerializer.SerializeToUtf8Bytes(underAttack, ControlJsonContext.Default.UnderAttackOrder)),
        RebalanceOrder rebalance => new(RebalanceCommand, JsonSerializer.SerializeToUtf8Bytes(rebalance, ControlJsonContext.Default.RebalanceOrder)),
        CachePurgeOrder purge => new(CachePurgeCommand, JsonSerializer.SerializeToUtf8Bytes(purge, ControlJsonContext.Default.CachePurgeOrder)),
        _ => throw new ArgumentOutOfRangeException(nameof(order), order.GetType().Name, "not a control order"),
    };

    /// <summary>Decodes a Command frame; false for an unknown name or a malformed payload.</summary>
    public static bool TryDecode(string name, ReadOnlySpan<byte> payload, [NotNullWhen(true)] out CoreOrder? order)
    {
        order = name switch
        {
            FleetCommand => Deserialize(payload, ControlJsonContext.Default.FleetView),
            DrainCommand => Deserialize(payload, ControlJsonContext.Default.DrainOrder),
            UndrainCommand => Deserialize(payload, ControlJsonContext.Default.UndrainOrder),
            UnderAttackCommand => Deserialize(payload, ControlJsonContext.Default.UnderAttackOrder),
            RebalanceCommand => Deserialize(payload, ControlJsonContext.Default.RebalanceOrder) is { Region.Length: > 0 and <= MaxRegionLength } rebalance ? rebalance : null,
            CachePurgeCommand => Deserialize(payload, ControlJsonContext.Default.CachePurgeOrder) is { } purge && purge.Problem() is null ? purge : null,
            _ => null,
        };
        return order is not null;
    }

    private static T? Deserialize<T>(ReadOnlySpan<byte> utf8, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, type);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null; // not JSON of that shape, or a string that is no text (a lone surrogate escape)
        }
    }
}
