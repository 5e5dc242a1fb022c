namespace Relay.CoreSim.Configuration;

/// <summary>core-sim settings, bound from the <c>CoreSim</c> configuration section.</summary>
public sealed class CoreSimOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "CoreSim";

    /// <summary>The development key: in the Development environment, the key of every relay without its own. Never use it outside a laptop.</summary>
    public const string DevelopmentSharedKey = Relay.Tunnel.Links.LinkKey.DevelopmentKey;

    /// <summary>Address the HTTP and backhaul listeners bind to. Defaults to 0.0.0.0.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>HTTP port (websocket /ws, tokens, fleet, faults); 0 picks a free port. Ignored when --urls is given. Defaults to 7080.</summary>
    public int HttpPort { get; set; } = 7080;

    /// <summary>HTTPS port (wss /ws and the same endpoints over TLS, HTTP/1.1), used when <see cref="CertificatePath"/> is set; 0 picks a free port. Defaults to 7443.</summary>
    public int HttpsPort { get; set; } = 7443;

    /// <summary>PEM certificate for the HTTPS listener (with <see cref="CertificateKeyPath"/>). Unset: plain ws only.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key for <see cref="CertificatePath"/>.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>Backhaul (relay link) port; 0 picks a free port. Defaults to 7000.</summary>
    public int BackhaulPort { get; set; } = 7000;

    /// <summary>This core node's id, told to relays. Defaults to "core-1".</summary>
    public string NodeId { get; set; } = "core-1";

    /// <summary>Cluster mode (issue 20): <c>CoreSim:Cluster:Redis</c> names the broker; unset, the state stays in this process.</summary>
    public ClusterOptions Cluster { get; set; } = new();

    /// <summary>
    /// The keyring: each relay's own backhaul key by relay id (<c>CoreSim:RelayKeys:&lt;relayId&gt;</c>, env
    /// <c>CoreSim__RelayKeys__&lt;relayId&gt;</c>), base64 of at least 32 random bytes (<c>dotnet Relay.CoreSim.dll keygen</c>
    /// prints one). The relay id a relay names at hello selects the key it must prove, and its health reports and
    /// streams are bound to that id. Defaults to none: outside the Development environment every relay is then refused.
    /// </summary>
    public Dictionary<string, string> RelayKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A folder of relay keys, one file per relay named by its id, <c>&lt;relayId&gt;.key</c> (what <c>relay init</c>
    /// writes as backhaul.key: copy it there under the relay's id), read at start into the keyring beside
    /// <see cref="RelayKeys"/>; other files are ignored. For relay ids an environment variable cannot name
    /// (<c>CoreSim__RelayKeys__sg-1</c>: shells and systemd refuse the '-') and to keep keys off command lines. Each file
    /// must not be readable by every user (0600, or 0640 with the service's group). Defaults to none.
    /// </summary>
    public string? RelayKeysDirectory { get; set; }

    /// <summary>The most key files <see cref="RelayKeysDirectory"/> may hold.</summary>
    public const int MaxRelayKeyFiles = 10_000;

    /// <summary>The whole keyring: <see cref="RelayKeys"/> and the files of <see cref="RelayKeysDirectory"/>; null and one
    /// line in <paramref name="error"/> when the folder or a file cannot be used, or names a relay RelayKeys names too.</summary>
    public Dictionary<string, string>? Keyring(out string? error)
    {
        error = null;
        var keys = new Dictionary<string, string>(RelayKeys, StringComparer.Ordinal);
        if (string.IsNullOrEmpty(RelayKeysDirectory))
        {
            return keys;
        }

        string[] files;
        try
        {
            files = [.. Directory.EnumerateFiles(RelayKeysDirectory, "*.key").Take(MaxRelayKeyFiles + 1)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = $"CoreSim:RelayKeysDirectory: cannot list '{RelayKeysDirectory}': {e.Message.ReplaceLineEndings(" ")}";
            return null;
        }

        if (files.Length > MaxRelayKeyFiles)
        {
            error = $"CoreSim:RelayKeysDirectory: '{RelayKeysDirectory}' holds more than {MaxRelayKeyFiles} key files";
            return null;
        }

        foreach (string file in files.Order(StringComparer.Ordinal))
        {
            string relayId = Path.GetFileNameWithoutExtension(file);
            if (Relay.Contracts.Configuration.SecretFiles.Read("CoreSim:RelayKeysDirectory", file, out error) is not { } key)
            {
                return null;
            }

            if (!keys.TryAdd(relayId, key))
            {
                error = $"CoreSim:RelayKeysDirectory: '{file}' and CoreSim:RelayKeys:{relayId} both give relay {relayId}'s key; keep one";
                return null;
            }
        }

        return keys;
    }

    /// <summary>
    /// The key of every relay that has none in <see cref="RelayKeys"/>: accepted only in the Development environment
    /// (base64 of ≥ 32 bytes, or any text of ≥ 16 UTF-8 bytes). Defaults to none; in Development, <see cref="DevelopmentSharedKey"/>.
    /// </summary>
    public string? SharedKey { get; set; }

    /// <summary>
    /// Issue 22, tails under loss: a data frame to a relay of at most this many bytes also goes out on a second link of that
    /// relay; the first copy to arrive wins. Defaults to 1024; 0 turns it off.
    /// </summary>
    public int BackhaulDuplicateFramesUpTo { get; set; } = 1024;

    /// <summary>
    /// Issue 21: the copies of <see cref="BackhaulDuplicateFramesUpTo"/> go out only on a far or lossy link (within the last
    /// minute: on Linux the kernel's smallest round trip of the TCP path at least this long;
    /// elsewhere the heartbeat's round trips). Defaults to 20 ms; 0 copies on every link.
    /// </summary>
    public TimeSpan BackhaulDuplicateAboveRtt { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Backhaul handshakes in progress at most; a connection beyond it is closed at once. Defaults to 256.</summary>
    public int BackhaulMaxPendingHandshakes { get; set; } = 256;

    /// <summary>Backhaul handshakes in progress at most from one source address. Defaults to 8.</summary>
    public int BackhaulMaxPendingHandshakesPerAddress { get; set; } = 8;

    /// <summary>Of <see cref="BackhaulMaxPendingHandshakes"/>, the slots kept for addresses a relay has authenticated from before and for <see cref="RelayNetworks"/> (a flood from elsewhere cannot take them). Defaults to 32.</summary>
    public int BackhaulReservedHandshakes { get; set; } = 32;

    /// <summary>
    /// The relays' networks (CIDR, IPv4 or IPv6, e.g. <c>10.90.0.0/24</c>, <c>fd00::/64</c>; a bare address is that one
    /// address): sources in them may take the <see cref="BackhaulReservedHandshakes"/> slots from the start, as sources a
    /// relay has authenticated from do once it has, so a relay new to this core (or every relay, after a restart) gets in
    /// during a handshake flood from elsewhere. Typically the WireGuard tunnel's network. Defaults to none.
    /// </summary>
    public List<string> RelayNetworks { get; set; } = [];

    /// <summary>
    /// One <see cref="RelayNetworks"/> entry as a network: a CIDR with no host bits set, or a bare address (a /32 or
    /// /128). False, with why, for anything else (a CIDR with host bits set is taken for a typo, not silently masked).
    /// </summary>
    public static bool TryParseRelayNetwork(string? text, out System.Net.IPNetwork network, out string? error)
    {
        string entry = text?.Trim() ?? string.Empty;
        error = null;
        if (!Relay.Contracts.Regions.RegionMap.TryParseCidr(entry, out network))
        {
            error = $"'{text}' is not a network: write address/prefix (e.g. 10.90.0.0/24 or fd00::/64) or one address";
            return false;
        }

        int slash = entry.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0 && !System.Net.IPAddress.Parse(entry.AsSpan(0, slash)).Equals(network.BaseAddress))
        {
            error = $"'{text}' has host bits set: write {network} for the network, or {entry[..slash]} for that one address";
            return false;
        }

        return true;
    }

    /// <summary>Time a new backhaul connection has to prove a relay's key before it is closed. Defaults to 2 s.</summary>
    public TimeSpan BackhaulHandshakeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Streams (sessions and edge HTTP connections) one relay may hold open at once; an OPEN beyond it is refused with
    /// 1013. Defaults to 250,000. One relay (its key stolen, or a bug) cannot fill the core with streams.
    /// </summary>
    public int BackhaulMaxStreamsPerRelay { get; set; } = 250_000;

    /// <summary>Admin credential (UTF-8, at least 16 bytes), sent as <c>Authorization: Bearer KEY</c>: required by every
    /// state-changing endpoint (<c>/v1/faults/*</c>, the dashboard's drain/undrain) and for operator tokens. Defaults to none:
    /// in the Development environment a random key is generated at start and logged once; elsewhere it must be set.</summary>
    public string? AdminKey { get; set; }

    /// <summary>How long a detached session is kept for a resume. Defaults to 2 minutes.</summary>
    public TimeSpan SessionRetention { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Detached sessions (waiting for a resume) kept per user, a site and sub; one more ends the one detached
    /// longest (its resume gets <c>session_unknown</c>, 4004). Bounds what one token can make the core hold by connecting
    /// and dropping in a loop. Counted per node in cluster mode, where the session also ends in the broker (unless it
    /// resumed on another node meanwhile). Defaults to 32.</summary>
    public int MaxDetachedSessionsPerUser { get; set; } = 32;

    /// <summary>Detached sessions kept in all (counted per node in cluster mode, ended in the broker too); one more ends
    /// the one detached longest, whoever's it is. Defaults to 100,000.</summary>
    public int MaxDetachedSessions { get; set; } = 100_000;

    /// <summary>Unacknowledged messages kept per session and direction; beyond it the session ends with error
    /// <c>buffer_overflow</c> and close 1008. Defaults to 10,000.</summary>
    public int MaxUnacknowledged { get; set; } = 10_000;

    /// <summary>UTF-8 bytes of unacknowledged core → client messages (bodies, rooms and senders) kept per session; beyond it
    /// the session ends with error <c>buffer_overflow</c> and close 1008, as with <see cref="MaxUnacknowledged"/>. At least
    /// <see cref="MaxMessageBytes"/>. Defaults to 1 MiB.</summary>
    public int MaxUnacknowledgedBytes { get; set; } = 1024 * 1024;

    /// <summary>Rooms one session may be in (<c>hello.rooms</c> and rooms it sends to); one more ends the session with error
    /// <c>too_many_rooms</c> and close 1008. Defaults to 100.</summary>
    public int MaxRoomsPerSession { get; set; } = 100;

    /// <summary>Largest inbound session message in bytes on the direct /ws endpoint; larger closes with 1009. Defaults to 64 KiB.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Time a closing session allows each step of its close (the send lock, its last error message, the close
    /// frame) and then the peer to answer, before it gives up on the connection. Defaults to 5 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// HTTP connections at most that are not (yet) websocket sessions (Kestrel's <c>MaxConcurrentConnections</c>); beyond
    /// it a new connection is closed at once. Defaults to 0: a quarter of the open-file limit (at most 10,000), so that
    /// anonymous idle connections cannot use up the files the backhaul and the sessions need. Sessions are not counted.
    /// </summary>
    public int MaxConnections { get; set; }

    /// <summary>The cap <see cref="MaxConnections"/> gives with this process's open-file limit (null: unknown or unlimited).</summary>
    public static int EffectiveMaxConnections(int configured, long? fileLimit) =>
        configured > 0 ? configured : (int)Math.Clamp((fileLimit ?? 40_000) / 4, 16, 10_000);

    /// <summary>
    /// Concurrent <c>GET /v1/fleet/stream</c> streams (the dashboard's server-sent events, anonymous as <c>GET /fleet</c>);
    /// beyond it a stream gets 503 with <c>Retry-After</c>. Defaults to 64; 1–10,000.
    /// </summary>
    public int FleetStreamMaxClients { get; set; } = 64;

    /// <summary>How long a new connection has to send its hello. Defaults to 10 s.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>PEM file with the ES256 (P-256) private key. When unset a key pair is generated at start.</summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>When set, the public key is written there as PEM (SPKI "PUBLIC KEY") at start, for relays to load.</summary>
    public string? PublicKeyPath { get; set; }

    /// <summary>Lifetime of an issued token when the request names none. Defaults to 1 hour.</summary>
    public TimeSpan DefaultTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Longest lifetime a token request may ask for. Defaults to 24 hours.</summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The <c>iss</c> of issued tokens (relays expect it: Gateway:TokenIssuer). Defaults to "relay-core".</summary>
    public string TokenIssuer { get; set; } = Relay.Contracts.Tokens.TokenIssuer.DefaultIssuer;

    /// <summary>The <c>aud</c> of issued tokens (relays expect it: Gateway:TokenAudience). Defaults to "relay".</summary>
    public string TokenAudience { get; set; } = Relay.Contracts.Tokens.TokenIssuer.DefaultAudience;

    /// <summary>
    /// Rotate the signing key this often (a development hook for key rotation: no admin call needed); the previous key
    /// stays in /.well-known/jwks.json for <see cref="KeyOverlap"/>. Defaults to zero (never).
    /// </summary>
    public TimeSpan KeyRotationInterval { get; set; }

    /// <summary>How long a rotated-out key stays published (and verifying). Defaults to 24 hours; at least <see cref="MaxTokenLifetime"/> keeps every issued token verifiable.</summary>
    public TimeSpan KeyOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The fleet policy orders a drain for a relay sick this long (while another relay is healthy). Defaults to 30 s.</summary>
    public TimeSpan FleetDrainSickAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the fleet view is sent to every relay and the policy runs. Defaults to 1 s.</summary>
    public TimeSpan FleetBroadcastInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The regions file (issue 17; <c>Relay.Contracts.Regions.RegionsFile</c>): regions, their client subnets, fallback order
    /// and relays. <c>GET /v1/negotiate</c> maps the caller's address to its region with it and takes each relay's region and
    /// URL from it (connected relays only); the fleet view carries its routing to the relays. Defaults to none: negotiate
    /// answers from the connected relays, their regions and URLs from their own health reports, with no address mapping.
    /// </summary>
    public string? RegionsFile { get; set; }

    /// <summary>
    /// How long after its <c>exp</c> a token this core signed may still be exchanged for a fresh one at
    /// <c>POST /v1/negotiate</c>. Defaults to 10 minutes.
    /// </summary>
    public TimeSpan TokenRefreshWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long a chain of refreshes at <c>POST /v1/negotiate</c> may run: from the first token's issue (carried through
    /// refreshes as <c>auth_time</c>), no refreshed token expires later, and past it a refresh is refused (401, "sign in
    /// again"), so a stolen token cannot be renewed for ever. Defaults to 24 hours; at least <see cref="DefaultTokenLifetime"/>.
    /// </summary>
    public TimeSpan MaxSessionAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Folder of load-generator reports for GET /v1/load/latest (the newest result.json in it or one level below). Unset: artifacts/load, then loadgen-results, under the working directory.</summary>
    public string? LoadReportsPath { get; set; }

    /// <summary>Messages kept per room for <c>GET /api/rooms/{room}/history</c> (issue 18). Defaults to 200.</summary>
    public int HistoryPerRoom { get; set; } = 200;

    /// <summary>Rooms whose history is kept; beyond it the room written longest ago is forgotten. Defaults to 10000.</summary>
    public int HistoryMaxRooms { get; set; } = 10_000;

    /// <summary>
    /// Bytes of history kept in all (the messages' strings, UTF-16, and a fixed overhead each); beyond it the room written
    /// longest ago is forgotten (a room alone over it keeps its newest messages). Defaults to 64 MiB.
    /// </summary>
    public long HistoryMaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Folder for files uploaded with <c>POST /files</c> (issue 18). Defaults to none: a folder under the system's temp
    /// folder, made at the first upload and removed when core-sim stops.
    /// </summary>
    public string? FilesPath { get; set; }

    /// <summary>Largest file <c>POST /files</c> takes (413 beyond). Defaults to 100 MiB.</summary>
    public long MaxFileBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary>Files kept in <see cref="FilesPath"/>; an upload beyond it gets 507. Defaults to 1000.</summary>
    public int MaxFiles { get; set; } = 1000;

    /// <summary>Bytes all kept files may take; an upload beyond it gets 507. Defaults to 10 GiB.</summary>
    public long MaxTotalFileBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>Files one user (a token's site and <c>sub</c>) may keep; an upload beyond it gets 507. Defaults to 100.</summary>
    public int MaxFilesPerUser { get; set; } = 100;

    /// <summary>Uploads one user (a token's site and sub) may have in progress at once; one more gets 429. An upload
    /// holds one file's room from its start (bytes as they arrive), so this bounds what slow uploads hold. Defaults to 4.</summary>
    public int MaxUploadsPerUser { get; set; } = 4;

    /// <summary>Bytes one user's kept files may take; an upload beyond it gets 507. Defaults to 1 GiB.</summary>
    public long MaxFileBytesPerUser { get; set; } = 1024L * 1024 * 1024;

    /// <summary>
    /// How long an uploaded file is kept (from its upload; the same bytes uploaded again keep it longer): after it
    /// <c>GET /files/{id}</c> answers 404, a sweep each minute deletes it, and it no longer counts against the quotas.
    /// Defaults to 24 hours.
    /// </summary>
    public TimeSpan FileRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Browser cache lifetime of the widget assets under <c>/assets/</c> (<c>Cache-Control: public, max-age</c>). Defaults to 5 min.</summary>
    public TimeSpan AssetMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The HTTP fault hooks for tests (<c>?fault=slow&amp;ms=</c>, <c>?fault=error&amp;status=</c> on <c>/api/</c>,
    /// <c>/assets/</c>, <c>/files</c>). Defaults to unset: on only in the Development environment.
    /// </summary>
    public bool? HttpFaultHooks { get; set; }
}
