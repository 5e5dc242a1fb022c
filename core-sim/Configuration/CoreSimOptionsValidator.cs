using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Relay.Tunnel.Links;

namespace Relay.CoreSim.Configuration;

/// <summary>Validates <see cref="CoreSimOptions"/> at start: the first bad setting, one line naming it. Reads only.</summary>
internal sealed class CoreSimOptionsValidator(IHostEnvironment environment) : IValidateOptions<CoreSimOptions>
{
    private readonly bool _development = environment.IsDevelopment();

    public ValidateOptionsResult Validate(string? name, CoreSimOptions options) =>
        Check(options, _development) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    private static string? Check(CoreSimOptions o, bool development)
    {
        if (!IPAddress.TryParse(o.BindAddress, out _)) return $"CoreSim:BindAddress: '{o.BindAddress}' is not an IP address.";
        if (o.HttpPort is < 0 or > 65535) return $"CoreSim:HttpPort: must be 0-65535; was {o.HttpPort}.";
        if (o.BackhaulPort is < 0 or > 65535) return $"CoreSim:BackhaulPort: must be 0-65535; was {o.BackhaulPort}.";
        if (o.BackhaulPort != 0 && o.BackhaulPort == o.HttpPort) return $"CoreSim:BackhaulPort: must differ from CoreSim:HttpPort; both were {o.HttpPort}.";
        if (o.CertificatePath is { Length: > 0 } && o.HttpsPort != 0 && (o.HttpsPort == o.HttpPort || o.HttpsPort == o.BackhaulPort)) return $"CoreSim:HttpsPort: must differ from CoreSim:HttpPort and CoreSim:BackhaulPort; was {o.HttpsPort}.";
        if (string.IsNullOrWhiteSpace(o.NodeId)) return "CoreSim:NodeId: required.";
        if (o.Cluster.Redis is { Length: > 0 } && (o.NodeId.Length > 100 || o.NodeId.Any(c => char.IsWhiteSpace(c) || c == ':'))) return $"CoreSim:NodeId: in cluster mode at most 100 characters, no spaces or ':'; was '{o.NodeId}'.";
        if (o.Cluster.LeaseTime < TimeSpan.FromSeconds(1)) return $"CoreSim:Cluster:LeaseTime: must be at least 00:00:01; was {o.Cluster.LeaseTime}.";
        if (o.Cluster.BrokerTimeout < TimeSpan.FromMilliseconds(50) || o.Cluster.BrokerTimeout >= o.Cluster.LeaseTime) return $"CoreSim:Cluster:BrokerTimeout: must be 50 ms to below CoreSim:Cluster:LeaseTime ({o.Cluster.LeaseTime}); was {o.Cluster.BrokerTimeout}.";
        if (string.IsNullOrEmpty(o.Cluster.KeyPrefix) || o.Cluster.KeyPrefix.Length > 64) return "CoreSim:Cluster:KeyPrefix: 1-64 characters.";
        if (o.Cluster.Redis is { Length: > 0 } redis && CheckRedis(redis) is { } redisError) return $"CoreSim:Cluster:Redis: {redisError}";
        if (o.BackhaulMaxPendingHandshakes < 1) return $"CoreSim:BackhaulMaxPendingHandshakes: must be at least 1; was {o.BackhaulMaxPendingHandshakes}.";
        if (o.BackhaulMaxPendingHandshakesPerAddress < 1) return $"CoreSim:BackhaulMaxPendingHandshakesPerAddress: must be at least 1; was {o.BackhaulMaxPendingHandshakesPerAddress}.";
        if (o.BackhaulReservedHandshakes < 0 || o.BackhaulReservedHandshakes >= o.BackhaulMaxPendingHandshakes) return $"CoreSim:BackhaulReservedHandshakes: must be 0 to CoreSim:BackhaulMaxPendingHandshakes - 1 ({o.BackhaulMaxPendingHandshakes - 1}); was {o.BackhaulReservedHandshakes}.";
        if (CheckRelayNetworks(o.RelayNetworks) is { } networkError) return networkError;
        if (o.BackhaulDuplicateFramesUpTo is < 0 or > 16 * 1024) return $"CoreSim:BackhaulDuplicateFramesUpTo: must be 0 (off) to 16384 bytes; was {o.BackhaulDuplicateFramesUpTo}.";
        if (o.BackhaulDuplicateAboveRtt < TimeSpan.Zero || o.BackhaulDuplicateAboveRtt > TimeSpan.FromSeconds(10)) return $"CoreSim:BackhaulDuplicateAboveRtt: must be 0 (always copy) to 10 s; was {o.BackhaulDuplicateAboveRtt}.";
        if (o.BackhaulMaxStreamsPerRelay < 1) return $"CoreSim:BackhaulMaxStreamsPerRelay: must be at least 1; was {o.BackhaulMaxStreamsPerRelay}.";
        if (o.BackhaulHandshakeTimeout <= TimeSpan.Zero) return $"CoreSim:BackhaulHandshakeTimeout: must be positive; was {o.BackhaulHandshakeTimeout}.";
        if (string.IsNullOrEmpty(o.AdminKey)) return "CoreSim:AdminKey: required outside the Development environment (env CoreSim__AdminKey; ≥ 16 random bytes).";
        if (Encoding.UTF8.GetByteCount(o.AdminKey) < 16) return "CoreSim:AdminKey: must be at least 16 bytes (env CoreSim__AdminKey).";
        if (o.SessionRetention <= TimeSpan.Zero) return $"CoreSim:SessionRetention: must be positive; was {o.SessionRetention}.";
        if (o.MaxDetachedSessionsPerUser is < 1 or > 1_000_000) return $"CoreSim:MaxDetachedSessionsPerUser: must be 1-1,000,000; was {o.MaxDetachedSessionsPerUser}.";
        if (o.MaxDetachedSessions is < 1 or > 10_000_000) return $"CoreSim:MaxDetachedSessions: must be 1-10,000,000; was {o.MaxDetachedSessions}.";
        if (o.MaxUnacknowledged is < 1 or > 1_000_000) return $"CoreSim:MaxUnacknowledged: must be 1-1,000,000; was {o.MaxUnacknowledged}.";
        if (o.MaxMessageBytes is < 256 or > 16 * 1024 * 1024) return $"CoreSim:MaxMessageBytes: must be 256 B-16 MiB; was {o.MaxMessageBytes}.";
        if (o.MaxUnacknowledgedBytes < o.MaxMessageBytes || o.MaxUnacknowledgedBytes > 1024 * 1024 * 1024) return $"CoreSim:MaxUnacknowledgedBytes: must be CoreSim:MaxMessageBytes ({o.MaxMessageBytes}) to 1 GiB; was {o.MaxUnacknowledgedBytes}.";
        if (o.HistoryPerRoom is < 0 or > 100_000) return $"CoreSim:HistoryPerRoom: must be 0-100,000; was {o.HistoryPerRoom}.";
        if (o.HistoryMaxRooms is < 1 or > 10_000_000) return $"CoreSim:HistoryMaxRooms: must be 1-10,000,000; was {o.HistoryMaxRooms}.";
        if (o.HistoryMaxBytes is < 1024 * 1024 or > 64L * 1024 * 1024 * 1024) return $"CoreSim:HistoryMaxBytes: must be 1 MiB-64 GiB; was {o.HistoryMaxBytes}.";
        if (o.MaxFileBytes < 1) return $"CoreSim:MaxFileBytes: must be at least 1; was {o.MaxFileBytes}.";
        if (o.MaxFiles < 1) return $"CoreSim:MaxFiles: must be at least 1; was {o.MaxFiles}.";
        if (o.MaxFilesPerUser < 1 || o.MaxFilesPerUser > o.MaxFiles) return $"CoreSim:MaxFilesPerUser: must be 1 to CoreSim:MaxFiles ({o.MaxFiles}); was {o.MaxFilesPerUser}.";
        if (o.MaxUploadsPerUser is < 1 or > 1000) return $"CoreSim:MaxUploadsPerUser: must be 1-1,000; was {o.MaxUploadsPerUser}.";
        if (o.MaxFileBytesPerUser < o.MaxFileBytes) return $"CoreSim:MaxFileBytesPerUser: must be at least CoreSim:MaxFileBytes ({o.MaxFileBytes}); was {o.MaxFileBytesPerUser}.";
        if (o.MaxTotalFileBytes < o.MaxFileBytesPerUser) return $"CoreSim:MaxTotalFileBytes: must be at least CoreSim:MaxFileBytesPerUser ({o.MaxFileBytesPerUser}); was {o.MaxTotalFileBytes}.";
        if (o.FileRetention < TimeSpan.FromMinutes(1) || o.FileRetention > MaxAge) return $"CoreSim:FileRetention: must be 00:01:00 to {MaxAge}; was {o.FileRetention}.";
        if (o.AssetMaxAge < TimeSpan.Zero) return $"CoreSim:AssetMaxAge: must not be negative; was {o.AssetMaxAge}.";
        if (o.MaxRoomsPerSession is < 1 or > 100_000) return $"CoreSim:MaxRoomsPerSession: must be 1-100,000; was {o.MaxRoomsPerSession}.";
        if (o.MaxConnections < 0) return $"CoreSim:MaxConnections: must be 0 (a quarter of the open-file limit) or positive; was {o.MaxConnections}.";
        if (o.FleetStreamMaxClients is < 1 or > 10_000) return $"CoreSim:FleetStreamMaxClients: must be 1-10,000; was {o.FleetStreamMaxClients}.";
        if (o.HelloTimeout <= TimeSpan.Zero) return $"CoreSim:HelloTimeout: must be positive; was {o.HelloTimeout}.";
        if (o.SigningKeyPath is { Length: > 0 } signingKey && CheckSigningKey(signingKey) is { } keyError) return $"CoreSim:SigningKeyPath: {keyError}";
        if (o.CloseTimeout <= TimeSpan.Zero) return $"CoreSim:CloseTimeout: must be positive; was {o.CloseTimeout}.";
        if (o.DefaultTokenLifetime <= TimeSpan.Zero) return $"CoreSim:DefaultTokenLifetime: must be positive; was {o.DefaultTokenLifetime}.";
        if (o.MaxTokenLifetime < o.DefaultTokenLifetime) return $"CoreSim:MaxTokenLifetime: must not be below CoreSim:DefaultTokenLifetime ({o.DefaultTokenLifetime}); was {o.MaxTokenLifetime}.";
        if (string.IsNullOrWhiteSpace(o.TokenIssuer) || string.IsNullOrWhiteSpace(o.TokenAudience)) return "CoreSim:TokenIssuer and CoreSim:TokenAudience must not be empty.";
        if (o.KeyRotationInterval < TimeSpan.Zero || o.KeyRotationInterval > MaxTimerPeriod) return $"CoreSim:KeyRotationInterval: must be zero (never) to {MaxTimerPeriod} (a timer's longest period); was {o.KeyRotationInterval}.";
        if (o.KeyOverlap <= TimeSpan.Zero) return $"CoreSim:KeyOverlap: must be positive; was {o.KeyOverlap}.";
        if (o.FleetBroadcastInterval <= TimeSpan.Zero || o.FleetBroadcastInterval > MaxTimerPeriod) return $"CoreSim:FleetBroadcastInterval: must be positive, at most {MaxTimerPeriod} (a timer's longest period); was {o.FleetBroadcastInterval}.";
        if (o.FleetDrainSickAfter < TimeSpan.Zero) return $"CoreSim:FleetDrainSickAfter: must not be negative; was {o.FleetDrainSickAfter}.";
        if (o.TokenRefreshWindow < TimeSpan.Zero || o.TokenRefreshWindow > o.KeyOverlap) return $"CoreSim:TokenRefreshWindow: must be 0 to CoreSim:KeyOverlap ({o.KeyOverlap}); was {o.TokenRefreshWindow}.";
        if (o.MaxSessionAge < o.DefaultTokenLifetime || o.MaxSessionAge > MaxAge) return $"CoreSim:MaxSessionAge: must be CoreSim:DefaultTokenLifetime ({o.DefaultTokenLifetime}) to {MaxAge}; was {o.MaxSessionAge}.";
        if (o.RegionsFile is { Length: > 0 } regions && CheckRegions(regions) is { } regionsError) return $"CoreSim:RegionsFile: {regionsError}";
        return CheckKeys(o, development) ?? Tls.CoreSimCertificate.Check(o.CertificatePath, o.CertificateKeyPath, o.HttpsPort);
    }

    /// <summary>The longest <see cref="CoreSimOptions.MaxSessionAge"/> and <see cref="CoreSimOptions.FileRetention"/> allowed: a year.</summary>
    private static readonly TimeSpan MaxAge = TimeSpan.FromDays(365);

    /// <summary>The longest period a timer takes (2^32 - 2 ms, about 49.7 days); a longer one throws when it is armed.</summary>
    private static readonly TimeSpan MaxTimerPeriod = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>The tokens' signing key: a P-256 (ES256) private key in PEM that this process can read.</summary>
    private static string? CheckSigningKey(string path)
    {
        if (!File.Exists(path)) return $"file '{path}' does not exist.";
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(path));
            _ = key.ExportParameters(includePrivateParameters: true); // throws for a public key alone
            return key.KeySize == 256 ? null : $"'{path}' holds a {key.KeySize}-bit EC key; tokens are ES256: a P-256 private key is needed.";
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException or IOException or UnauthorizedAccessException)
        {
            return $"'{path}' is not a readable P-256 (ES256) private key in PEM: {OneLine(e.Message)}";
        }
    }

    /// <summary>The broker's connection string, as StackExchange.Redis parses it when cluster mode starts.</summary>
    private static string? CheckRedis(string configuration)
    {
        try
        {
            _ = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"'{configuration}' is not a Redis connection string: {OneLine(e.Message)}";
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    private static string? CheckRegions(string path)
    {
        try
        {
            _ = Relay.Contracts.Regions.RegionsFile.Load(path);
            return null;
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>Each of CoreSim:RelayNetworks a network (CoreSimOptions.TryParseRelayNetwork), the first bad entry named by its index.</summary>
    private static string? CheckRelayNetworks(List<string> networks)
    {
        for (int i = 0; i < networks.Count; i++)
        {
            if (!CoreSimOptions.TryParseRelayNetwork(networks[i], out _, out var error)) return $"CoreSim:RelayNetworks:{i}: {error}.";
        }

        return null;
    }

    /// <summary>The keyring, and the development key only in Development.</summary>
    private static string? CheckKeys(CoreSimOptions o, bool development)
    {
        if (o.Keyring(out string? unusable) is not { } keyring) return unusable + ".";
        foreach (var (relayId, key) in keyring)
        {
            string where = o.RelayKeys.ContainsKey(relayId) ? $"CoreSim:RelayKeys:{relayId}" : $"CoreSim:RelayKeysDirectory: {relayId}.key";
            if (string.IsNullOrWhiteSpace(relayId) || relayId.Length > 64) return $"{where}: a relay id must be 1-64 characters; was '{relayId}'.";
            if (!LinkKey.TryParse(key, development, out _, out var error)) return $"{where}: {error}.";
        }

        if (development)
        {
            return LinkKey.TryParse(o.SharedKey, development: true, out _, out var error) ? null : $"CoreSim:SharedKey: {error} (env CoreSim__SharedKey).";
        }

        // An empty keyring is allowed (direct /ws only, e.g. the load generator's baseline): every relay is refused, and
        // the backhaul logs a warning at start.
        return string.IsNullOrEmpty(o.SharedKey) ? null : "CoreSim:SharedKey: one key for every relay is accepted only in the Development environment; give each relay its own key in CoreSim:RelayKeys:<relayId> (`dotnet Relay.CoreSim.dll keygen` prints one).";
    }
}
