namespace Relay.CoreSim.Cluster;

/// <summary>What a lease renewal found for a session this node serves, when it did not simply keep the lease
/// (<see cref="ClusterScripts.Renew"/>).</summary>
internal enum LeaseState
{
    /// <summary>Nobody held the lease (it ran out while the broker was away or slow): this node took it again. Wake-ups
    /// sent meanwhile went to no node, so the session pulls its history.</summary>
    Retaken,

    /// <summary>Another node owns the session: its client resumed there (the fence may have been lost). Certain: the
    /// connection here closes with session_taken_over.</summary>
    Taken,

    /// <summary>The broker does not know the session (expired, or the broker restarted without persistence): the
    /// connection closes with session_unknown (4004), so the client starts a fresh session and resends its outbox.</summary>
    Gone,
}
