using System.Net;
using Microsoft.Extensions.Options;

namespace Relay.Gateway.Configuration;

/// <summary>Validates <see cref="GatewayOptions"/> (and its Backhaul and Health sections) at start: the first bad setting, one line naming it.</summary>
/// <param name="environment">The host's environment (a development backhaul key only in Development); none: not Development.</param>
internal sealed class GatewayOptionsValidator(IHostEnvironment? environment = null) : IValidateOptions<GatewayOptions>
{
    private readonly BackhaulOptionsValidator _backhaul = new(environment?.IsDevelopment() ?? false);
    private readonly HealthOptionsValidator _health = new();

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        if (OwnProblems(options).FirstOrDefault() is { } error)
        {
            return ValidateOptionsResult.Fail(error);
        }

        var backhaul = _backhaul.Validate(name, options.Backhaul);
        return backhaul.Failed ? backhaul : _health.Validate(name, options.Health);
    }

    /// <summary>Every bad setting of <paramref name="o"/> and its Backhaul and Health sections, one line each.</summary>
    internal static IEnumerable<string> Problems(GatewayOptions o, bool development) =>
        OwnProblems(o).Concat(BackhaulOptionsValidator.Problems(o.Backhaul, development)).Concat(HealthOptionsValidator.Problems(o.Health));

    /// <summary>Every bad setting of the gateway's own options, one line each (start-up reports the first; <c>relay check</c> all).</summary>
    internal static IEnumerable<string> OwnProblems(GatewayOptions o)
    {
        if (o.HttpPort is < 0 or > 65535) yield return $"Gateway:HttpPort must be 0-65535; was {o.HttpPort}.";
        if (o.HttpsPort is < 0 or > 65535) yield return $"Gateway:HttpsPort must be 0-65535; was {o.HttpsPort}.";
        if (o.CertificatePath is { Length: > 0 } && o.HttpsPort != 0 && o.HttpsPort == o.HttpPort) yield return $"Gateway:HttpsPort must differ from Gateway:HttpPort; both were {o.HttpPort}.";
        if (o.Health.AgentPort > 0 && (o.Health.AgentPort == o.HttpPort || o.CertificatePath is { Length: > 0 } && o.Health.AgentPort == o.HttpsPort)) yield return $"Gateway:Health:AgentPort must differ from Gateway:HttpPort and Gateway:HttpsPort; was {o.Health.AgentPort}.";
        if (!IPAddress.TryParse(o.BindAddress, out _)) yield return $"Gateway:BindAddress '{o.BindAddress}' is not an IP address.";
        if (!string.IsNullOrEmpty(o.JwksUrl))
        {
            if (!Uri.TryCreate(o.JwksUrl, UriKind.Absolute, out var jwks) || jwks.Scheme is not ("http" or "https")) yield return $"Gateway:JwksUrl '{o.JwksUrl}' is not an http(s) URL.";
            if (o.JwksRefreshInterval < TimeSpan.FromSeconds(1)) yield return $"Gateway:JwksRefreshInterval must be at least 1 s; was {o.JwksRefreshInterval}.";
        }
        else
        {
            if (string.IsNullOrWhiteSpace(o.PublicKeyPath)) yield return "Gateway:PublicKeyPath is required unless Gateway:JwksUrl is set: the core's token public key (PEM). core-sim serves it at /v1/public-key.pem.";
            else if (!File.Exists(o.PublicKeyPath)) yield return $"Gateway:PublicKeyPath '{o.PublicKeyPath}' does not exist.";
            else if (PublicKeyProblem(o.PublicKeyPath) is { } keyProblem) yield return $"Gateway:PublicKeyPath '{o.PublicKeyPath}' {keyProblem}";
        }

        if (string.IsNullOrWhiteSpace(o.TokenIssuer) || string.IsNullOrWhiteSpace(o.TokenAudience)) yield return "Gateway:TokenIssuer and Gateway:TokenAudience must not be empty.";
        if (o.TokenClockSkew < TimeSpan.Zero || o.TokenClockSkew > TimeSpan.FromMinutes(5)) yield return $"Gateway:TokenClockSkew must be 0 to 5 min; was {o.TokenClockSkew}.";
        if (o.CertificatePath is not null && !File.Exists(o.CertificatePath)) yield return $"Gateway:CertificatePath '{o.CertificatePath}' does not exist.";
        if (o.MaxSessionsPerIp < 1) yield return $"Gateway:MaxSessionsPerIp must be at least 1; was {o.MaxSessionsPerIp}.";
        if (o.MaxConnections < 0) yield return $"Gateway:MaxConnections must be 0 (the open-file limit minus {Edge.ConnectionGate.FileReserve}) or positive; was {o.MaxConnections}.";
        if (o.MaxPreAuthConnections < 0) yield return $"Gateway:MaxPreAuthConnections must be 0 (a quarter of the connection cap, at most 4096) or positive; was {o.MaxPreAuthConnections}.";
        if (o.MaxPreAuthConnectionsPerIp < 1) yield return $"Gateway:MaxPreAuthConnectionsPerIp must be at least 1; was {o.MaxPreAuthConnectionsPerIp}.";
        if (o.AcceptsPerSecondWhenRefusing is < 0 or > 1_000_000) yield return $"Gateway:AcceptsPerSecondWhenRefusing must be 0 (no limit) to 1000000; was {o.AcceptsPerSecondWhenRefusing}.";
        if (o.TlsHandshakesPerSecondPerAddress is < 0 or > 1_000_000) yield return $"Gateway:TlsHandshakesPerSecondPerAddress must be 0 (no limit) to 1000000; was {o.TlsHandshakesPerSecondPerAddress}.";
        if (o.TlsHandshakesPerSecondPerAddress > 0 && o.TlsHandshakeBurstPerAddress is < 1 or > 1_000_000) yield return $"Gateway:TlsHandshakeBurstPerAddress must be 1 to 1000000; was {o.TlsHandshakeBurstPerAddress}.";
        if (o.HttpRequestsPerSecondPerClient is < 0 or > 1_000_000) yield return $"Gateway:HttpRequestsPerSecondPerClient must be 0 (no limit) to 1000000; was {o.HttpRequestsPerSecondPerClient}.";
        if (o.HttpRequestsPerSecondPerClient > 0 && o.HttpRequestBurstPerClient is < 1 or > 1_000_000) yield return $"Gateway:HttpRequestBurstPerClient must be 1 to 1000000; was {o.HttpRequestBurstPerClient}.";
        if (o.ListenBacklog is < 1 or > 65_535) yield return $"Gateway:ListenBacklog must be 1 to 65535; was {o.ListenBacklog}.";
        if (o.RequestHeadTimeout < TimeSpan.FromSeconds(1) || o.RequestHeadTimeout > TimeSpan.FromMinutes(5)) yield return $"Gateway:RequestHeadTimeout must be 1 s to 5 min; was {o.RequestHeadTimeout}.";
        if (Edge.TrustedProxies.TryParse(o.TrustedProxies, out string? proxies) is null) yield return proxies!;
        if (o.MessagesPerSecond < 1) yield return $"Gateway:MessagesPerSecond must be at least 1; was {o.MessagesPerSecond}.";
        if (o.MessageBurst < 1) yield return $"Gateway:MessageBurst must be at least 1; was {o.MessageBurst}.";
        if (o.MaxMessageSize is < 128 or > 1024 * 1024) yield return $"Gateway:MaxMessageSize must be 128 B to 1 MiB; was {o.MaxMessageSize}.";
        if (o.MaxMessageSize > o.Backhaul.MaxMessageSize) yield return $"Gateway:MaxMessageSize ({o.MaxMessageSize}) must not exceed Gateway:Backhaul:MaxMessageSize ({o.Backhaul.MaxMessageSize}).";
        int streamWindow = new Relay.Tunnel.Links.LinkOptions().StreamWindow; // the backhaul's window (not configurable here)
        if (o.SendQueueBytes < o.MaxMessageSize || o.SendQueueBytes >= streamWindow) yield return $"Gateway:SendQueueBytes must be at least MaxMessageSize ({o.MaxMessageSize}) and below the backhaul stream window ({streamWindow}); was {o.SendQueueBytes}.";
        if (o.KeepAliveInterval <= TimeSpan.Zero) yield return $"Gateway:KeepAliveInterval must be positive; was {o.KeepAliveInterval}.";
        if (o.KeepAliveTimeout <= TimeSpan.Zero) yield return $"Gateway:KeepAliveTimeout must be positive; was {o.KeepAliveTimeout}.";
        if (o.ShutdownTimeout < TimeSpan.Zero) yield return $"Gateway:ShutdownTimeout must not be negative; was {o.ShutdownTimeout}.";
        if (o.IdleMemoryTrimAfter < TimeSpan.Zero) yield return $"Gateway:IdleMemoryTrimAfter must be zero (off) or positive; was {o.IdleMemoryTrimAfter}.";
        if (!Uri.TryCreate(o.DemoTokenUrl, UriKind.Absolute, out var tokenUri) || (tokenUri.Scheme != Uri.UriSchemeHttp && tokenUri.Scheme != Uri.UriSchemeHttps))
        {
            yield return $"Gateway:DemoTokenUrl '{o.DemoTokenUrl}' must be an absolute http(s) URL, e.g. http://127.0.0.1:7080/v1/tokens.";
        }

        if (o.Negotiate.TokenUrl is { Length: > 0 } negotiateUrl && (!Uri.TryCreate(negotiateUrl, UriKind.Absolute, out var n) || (n.Scheme != Uri.UriSchemeHttp && n.Scheme != Uri.UriSchemeHttps)))
        {
            yield return $"Gateway:Negotiate:TokenUrl '{negotiateUrl}' must be an absolute http(s) URL, e.g. https://core.example/v1/negotiate.";
        }

        if (o.Negotiate.PublicUrl is { Length: > Relay.Contracts.Control.RelayHealthReport.MaxUrlLength } longUrl)
        {
            yield return $"Gateway:Negotiate:PublicUrl must be at most {Relay.Contracts.Control.RelayHealthReport.MaxUrlLength} characters; was {longUrl.Length}.";
        }
        else if (o.Negotiate.PublicUrl is { Length: > 0 } publicUrl && (!Uri.TryCreate(publicUrl, UriKind.Absolute, out var p) || p.Scheme is not ("ws" or "wss")))
        {
            yield return $"Gateway:Negotiate:PublicUrl '{publicUrl}' must be an absolute ws:// or wss:// URL, e.g. wss://sg-1.relay.example/ws.";
        }
    }

    /// <summary>The core's token key as the relay reads it at start (<see cref="Relay.Contracts.Tokens.TokenVerifier.FromPem"/>): null when it is one.</summary>
    private static string? PublicKeyProblem(string path)
    {
        try
        {
            _ = Relay.Contracts.Tokens.TokenVerifier.FromPem(File.ReadAllText(path));
            return null;
        }
        catch (Exception e) when (e is ArgumentException or System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            return $"is not a readable EC public key in PEM (the core's token key; core-sim serves it at /v1/public-key.pem): {e.Message.ReplaceLineEndings(" ")}";
        }
    }
}
