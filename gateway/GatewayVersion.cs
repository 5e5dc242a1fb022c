using System.Reflection;

namespace Relay.Gateway;

/// <summary>
/// The build's version: the assembly's InformationalVersion, which ./build.sh publish stamps from git
/// (scripts/version.sh: <c>X.Y.Z</c> on a tag, else <c>0.1.0+N.gSHA</c>). Printed by <c>--version</c>, in
/// <c>/status</c> and in the metrics' <c>target_info</c> (<c>service_version</c>).
/// </summary>
public static class GatewayVersion
{
    /// <summary>The service name in the metrics' resource (<c>target_info{service_name}</c>).</summary>
    public const string ServiceName = "relay-gateway";

    public static string Text { get; } =
        typeof(GatewayVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The answer to <c>--version</c> or <c>--help</c> (first argument alone), else null: the gateway runs.</summary>
    public static string? Answer(string[] args) => args switch
    {
        ["--version"] => $"{ServiceName} {Text}",
        ["--help" or "-h"] => $"""
            {ServiceName} {Text}: a Relay regional relay (websocket sessions and edge HTTP to the core over the backhaul)
            usage: Relay.Gateway [--config FILE] [--Gateway:KEY=VALUE]...
              --config FILE       read FILE instead of the system file (/etc/relay/gateway.json, when it exists)
              --Gateway:KEY=VALUE  any option (and GATEWAY__KEY=VALUE in the environment), e.g. --Gateway:HttpPort=8080
              --version           print the version
            Every option, its default and range: docs/gateway-options.md; `relay check FILE` checks a file first.
            """,
        _ => null,
    };
}
