namespace Relay.CoreSim.Backhaul;

/// <summary>
/// On a connection (and so on each of its requests) that arrived as a backhaul HTTP stream: the relay it came from
/// (the link's authenticated id, not a header) and the client address of the OPEN. Its presence is what lets core-sim
/// trust the request's X-Forwarded-* and Forwarded headers.
/// </summary>
internal interface IBackhaulHttpFeature
{
    string RelayId { get; }

    string OpenClientAddress { get; }

    ulong StreamId { get; }
}
