namespace Relay.Contracts.Control;

/// <summary>One relay in the fleet view's detail list: what negotiate answers about it.</summary>
/// <param name="Id">The relay id.</param>
/// <param name="Region">Its region (the regions file's, else its own report's).</param>
/// <param name="Url">Where clients connect to it (the regions file's, else the URL it reports); null when unknown.</param>
/// <param name="Weight">Its weight in percent (falls as load rises).</param>
/// <param name="Sessions">Sessions on it.</param>
/// <param name="State">Its state as the core sees it.</param>
public sealed record FleetRelay(
    string Id,
    string Region,
    string? Url,
    int Weight,
    long Sessions,
    RelayStatus State);
