using System.Security.Cryptography;
using Relay.CoreSim;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Packaging.Tests;

/// <summary>
/// A built gateway as a real process (Production environment, its own backhaul key) and, started when the test says
/// so, core-sim in process with the signing key the gateway already trusts: a relay can start before its core.
/// </summary>
internal sealed class RelayUnderTest : IAsyncDisposable
{
    public const string RelayId = "relay-pkg";
    private readonly string _dir;
    private readonly string _sharedKey;

    private RelayUnderTest(string dir, string sharedKey, int backhaulPort, int httpPort, ChildProcess gateway)
    {
        _dir = dir;
        _sharedKey = sharedKey;
        BackhaulPort = backhaulPort;
        HttpPort = httpPort;
        Gateway = gateway;
    }

    public ChildProcess Gateway { get; }

    public CoreSimHost? Core { get; private set; }

    public int BackhaulPort { get; }

    public int HttpPort { get; }

    public Uri Http => new($"http://127.0.0.1:{HttpPort}/");

    /// <summary>Starts the gateway (not core-sim) with <paramref name="environment"/> added to its own.</summary>
    public static RelayUnderTest Start(IReadOnlyDictionary<string, string?>? environment = null)
    {
        if (Repo.MissingBuild() is { } missing)
        {
            Assert.Ignore(missing);
        }

        string dir = TempFolders.Create("relay-pkg-");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(Path.Combine(dir, "signing.pem"), key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(dir, "public.pem"), key.ExportSubjectPublicKeyInfoPem());
        }

        int backhaul = Ports.Free(), http = Ports.Free(), agent = Ports.Free();
        string sharedKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var env = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_ENVIRONMENT"] = null };
        var gateway = ChildProcess.Start("gateway", RelayProcesses.Gateway(
            "--Gateway:BindAddress=127.0.0.1", $"--Gateway:HttpPort={http}", $"--Gateway:Health:AgentPort={agent}",
            $"--Gateway:PublicKeyPath={Path.Combine(dir, "public.pem")}", $"--Gateway:Backhaul:Endpoints:0=127.0.0.1:{backhaul}",
            $"--Gateway:Backhaul:SharedKey={sharedKey}", $"--Gateway:Backhaul:RelayId={RelayId}", "--Gateway:Backhaul:LinksPerEndpoint=2", "--Gateway:Backhaul:HeartbeatInterval=00:00:00.5",
            "--Gateway:Health:EvaluationInterval=00:00:00.2", "--Gateway:ShutdownTimeout=00:00:03",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Relay=Information"), logPath: null, env);
        return new RelayUnderTest(dir, sharedKey, backhaul, http, gateway);
    }

    /// <summary>Starts core-sim on the backhaul port the gateway was told, holding this relay's key.</summary>
    public async Task StartCoreAsync(CancellationToken token)
    {
        Core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = BackhaulPort;
            o.SigningKeyPath = Path.Combine(_dir, "signing.pem");
            o.RelayKeys[RelayId] = _sharedKey;
        }, token);
    }

    public async ValueTask DisposeAsync()
    {
        Gateway.Dispose();
        if (Core is not null)
        {
            await Core.DisposeAsync();
        }
    }
}
