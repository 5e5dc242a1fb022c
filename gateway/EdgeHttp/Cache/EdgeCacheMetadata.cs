namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>Endpoint metadata: the endpoint forwards to the origin behind the edge cache (<see cref="EdgeCacheExtensions.WithEdgeCache{TBuilder}"/>).</summary>
public sealed class EdgeCacheMetadata
{
    public static EdgeCacheMetadata Instance { get; } = new();

    private EdgeCacheMetadata()
    {
    }
}
