namespace Relay.Tunnel.Protocol;

/// <summary>Metadata carried by an <see cref="FrameKind.Open"/> frame.</summary>
/// <param name="SessionKey">Key that places the stream on a core node (rendezvous hashing); stable across resumes.</param>
/// <param name="ClientAddress">The end user's address as the relay saw it (an HTTP stream: the client whose request
/// opened the connection; each request names its own client in X-Forwarded-For).</param>
/// <param name="Claims">Verified token claims (sub, site, role, …); none on an HTTP stream.</param>
/// <param name="Kind">What the stream carries (issue 18); written on the wire only when not <see cref="StreamKind.Session"/>.</param>
public sealed record OpenInfo(string SessionKey, string ClientAddress, IReadOnlyDictionary<string, string> Claims, StreamKind Kind = StreamKind.Session)
{
    /// <summary>
    /// The most characters an OPEN's strings (session key, client address, claim keys and values) may hold together: a
    /// core refuses a larger OPEN with 1008 (the link stays up). The core keeps the session key and address for the
    /// stream's life; bounded only by the frame (256 KiB), a relay could make it hold half a megabyte per stream.
    /// </summary>
    public const int MaxChars = 8192;

    /// <summary>An empty claim set.</summary>
    public static readonly IReadOnlyDictionary<string, string> NoClaims = new Dictionary<string, string>();

    /// <summary>Whether the strings hold at most <see cref="MaxChars"/> characters together.</summary>
    public bool WithinLimits()
    {
        long chars = (long)SessionKey.Length + ClientAddress.Length;
        foreach (var (key, value) in Claims)
        {
            chars += key.Length + value.Length;
        }

        return chars <= MaxChars;
    }

    /// <summary>The wire text of <paramref name="kind"/> (the OPEN frame's fifth field).</summary>
    public static string KindText(StreamKind kind) => kind switch
    {
        StreamKind.Http => "http",
        _ => "session",
    };

    /// <summary>The kind a wire text names; <see cref="StreamKind.Unknown"/> for one this peer does not know.</summary>
    public static StreamKind ParseKind(string text) => text switch
    {
        "session" => StreamKind.Session,
        "http" => StreamKind.Http,
        _ => StreamKind.Unknown,
    };
}
