namespace Relay.Regions;

/// <summary>What <c>relay-regions generate</c> is told on its command line besides the regions file.</summary>
/// <param name="RegionsPath">The regions file (its full path is written into the generated files' headers).</param>
/// <param name="OutputFolder">Where pdns.conf, named.conf, the zone file and subnets.tsv are written.</param>
/// <param name="LocalAddresses">The addresses PowerDNS listens on (<c>local-address</c>).</param>
/// <param name="LocalPort">The port PowerDNS listens on (<c>local-port</c>). Defaults to 53.</param>
/// <param name="HealthCheckInterval">Seconds between two readiness checks of every relay (<c>lua-health-checks-interval</c>). Defaults to 5.</param>
/// <param name="HealthCheckTimeout">Seconds one readiness check may take (ifurlextup's <c>timeout</c>). Defaults to 2.</param>
/// <param name="Nameserver">The zone's NS name. Defaults to ns1.&lt;zone&gt;.</param>
/// <param name="NameserverAddress">The NS name's address, written as glue when the name is in the zone; none by default.</param>
/// <param name="Serial">The SOA serial. Defaults to the current Unix time.</param>
internal sealed record GeneratorSettings(
    string RegionsPath,
    string OutputFolder,
    IReadOnlyList<string> LocalAddresses,
    int LocalPort,
    int HealthCheckInterval,
    int HealthCheckTimeout,
    string? Nameserver,
    string? NameserverAddress,
    uint Serial);
