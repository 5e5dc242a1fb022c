using System.Reflection;
using System.Text.Json;
using Relay.Testing.Processes;

namespace Relay.Gateway.Tests;

/// <summary>
/// Which build a relay runs, where an operator looks for it. A new-user review found none: <c>--version</c> and
/// <c>--help</c> were configuration errors (exit 2), <c>/status</c> had no version, and the metrics' <c>target_info</c>
/// said <c>unknown_service:dotnet</c>; publish stamps the version into the binaries for exactly this.
/// </summary>
public class VersionTests
{
    private static readonly string s_version = typeof(GatewayHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

    [Test]
    public async Task Version_PrintsTheBuildsVersion_Exit0()
    {
        using var gateway = HostProcess.Start("Relay.Gateway.dll", "--version");
        Assert.That(await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, string.Join('\n', gateway.Error));
        Assert.That(gateway.Output, Is.EqualTo(new[] { $"relay-gateway {s_version}" }));
    }

    [Test]
    public async Task Help_SaysHowToConfigure_Exit0()
    {
        using var gateway = HostProcess.Start("Relay.Gateway.dll", "--help");
        Assert.That(await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, string.Join('\n', gateway.Error));
        string help = string.Join('\n', gateway.Output);
        Assert.That(help, Does.Contain("--config").And.Contain("--Gateway:").And.Contain("gateway-options.md").And.Contain("--version"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Status_AndMetrics_NameTheVersion(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var http = new HttpClient();
        using var status = JsonDocument.Parse(await http.GetStringAsync($"{gw.HttpUrl}/status", token));
        string metrics = await http.GetStringAsync($"{gw.HttpUrl}/metrics", token);

        Assert.That(status.RootElement.GetProperty("version").GetString(), Is.EqualTo(s_version));
        Assert.That(metrics, Does.Match("target_info\\{[^}]*service_name=\"relay-gateway\""));
        Assert.That(metrics, Does.Contain($"service_version=\"{s_version}\""));
    }
}
