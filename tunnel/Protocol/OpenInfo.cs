namespace Relay.Tunnel.Protocol;

/// <summary>Metadata carried by an <see cref="FrameKind.Open"/> frame.</summary>
/// <param name="SessionKey">Key that places the stream on a core node (rendezvous hashing); stable across resumes.</param>
/// <param name="ClientAddress">The end user's address as the relay saw it.</param>
/// <param name="Claims">Verified token claims (sub, site, role, …).</param>
public sealed record OpenInfo(string SessionKey, string ClientAddress, IReadOnlyDictionary<string, string> Claims)
{
    /// <summary>An empty claim set.</summary>
    public static readonly IReadOnlyDictionary<string, string> NoClaims = new Dictionary<string, string>();
}
