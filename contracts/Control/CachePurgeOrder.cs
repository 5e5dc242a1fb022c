namespace Relay.Contracts.Control;

/// <summary>
/// Edge cache purge (issue 18, command <c>cache-purge</c>): the relay removes from its edge cache the entries under
/// <paramref name="Prefix"/> (a path, by whole segments: <c>/assets</c> is that path and everything under
/// <c>/assets/</c>; <c>/</c> is everything) or tagged <paramref name="Tag"/> (a rule's tag or the origin's
/// <c>Cache-Tag</c>); exactly one of the two. Sent by core-sim's <c>POST /v1/cache/purge</c> to every linked relay. A
/// relay that predates it, or runs no edge cache, skips it.
/// </summary>
/// <param name="Prefix">The path prefix, starting with '/', at most <see cref="ControlCodec.MaxPurgeLength"/> characters; or null.</param>
/// <param name="Tag">The tag, at most <see cref="ControlCodec.MaxPurgeTagLength"/> characters; or null.</param>
public sealed record CachePurgeOrder(string? Prefix, string? Tag) : CoreOrder
{
    /// <summary>Why this order is not a valid purge (as a sentence), or null when it is.</summary>
    public string? Problem() => (Prefix, Tag) switch
    {
        (null or "", null or "") => "give a prefix (a path starting with '/') or a tag",
        ({ Length: > 0 }, { Length: > 0 }) => "give a prefix or a tag, not both",
        ({ Length: > 0 } p, _) when p[0] != '/' || p.Length > ControlCodec.MaxPurgeLength => $"a prefix is a path starting with '/', at most {ControlCodec.MaxPurgeLength} characters",
        (_, { Length: > 0 } t) when t.Length > ControlCodec.MaxPurgeTagLength => $"a tag is at most {ControlCodec.MaxPurgeTagLength} characters",
        _ => null,
    };
}
