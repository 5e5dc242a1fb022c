namespace Relay.Gateway.Health;

/// <summary>The relay's one state, as steering layers see it.</summary>
public enum RelayState
{
    /// <summary>Taking sessions at full weight.</summary>
    Healthy,
    /// <summary>Taking sessions at reduced weight.</summary>
    Degraded,
    /// <summary>Not ready: steering takes it out.</summary>
    Sick,
    /// <summary>Not taking sessions; moving its sessions away.</summary>
    Draining,
}
