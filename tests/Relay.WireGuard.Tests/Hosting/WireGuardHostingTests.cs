using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.WireGuard;
using Relay.WireGuard.Health;
using Relay.WireGuard.Hosting;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Tests.Hosting;

/// <summary>The one hosting extension the gateway and core-sim run the tunnel with, in a plain generic host.</summary>
public class WireGuardHostingTests
{
    private const string Section = "Test:WireGuard";
    private static readonly DateTimeOffset s_t0 = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory()
    {
        // Short: a unix socket path must fit in 108 bytes.
        _directory = Path.Combine(Path.GetTempPath(), "rwg-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void AddWireGuardTunnel_ModeNone_RegistersNoTunnel()
    {
        var builder = Builder(new() { ["Mode"] = "None" });
        bool registered = builder.AddWireGuardTunnel(Section);
        using var host = builder.Build();
        Assert.That(registered, Is.False);
        Assert.That(host.Services.GetService<WireGuardTunnelService>(), Is.Null);
    }

    [Test]
    public void AddWireGuardTunnel_ManagedWithoutConfigPath_ThrowsOneLineNamingTheKey()
    {
        var builder = Builder(new() { ["Mode"] = "Managed" });
        var failure = Assert.Throws<OptionsValidationException>(() => builder.AddWireGuardTunnel(Section));
        Assert.That(failure!.Failures.Single(), Does.StartWith($"{Section}:ConfigPath is required in managed mode"));
        Assert.That(failure.Failures.Single(), Does.Not.Contain("\n"));
    }

    [Test]
    public async Task AddWireGuardTunnel_ExternalWithoutDevice_StartsAndReportsTheDeviceNotAnswering()
    {
        var builder = Builder(External());
        var time = new FakeTimeProvider(s_t0);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.AddWireGuardTunnel(Section);
        using var host = builder.Build();
        await host.StartAsync();

        var status = host.Services.GetRequiredService<WireGuardTunnelService>().Tunnel!.Status;
        Assert.That(status.Health, Is.EqualTo(TunnelHealth.Unhealthy));
        Assert.That(status.Reason, Does.StartWith("tunnel wgh0: device not answering"));
        Assert.That(status.ReadAt, Is.EqualTo(s_t0), "read with the host's TimeProvider");
        await host.StopAsync();
    }

    [Test]
    public async Task AddWireGuardTunnel_HostsLinksFailing_SilentPeerTurnsTheTunnelUnhealthy()
    {
        using var device = new FakeUapiDevice(Path.Combine(_directory, "wgh0.sock"), s_t0);
        var builder = Builder(External());
        var time = new FakeTimeProvider(s_t0);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddSingleton<IBackhaulLinkState>(new FailingLinks());
        builder.AddWireGuardTunnel(Section);
        using var host = builder.Build();
        await host.StartAsync();
        var tunnel = host.Services.GetRequiredService<WireGuardTunnelService>().Tunnel!;
        Assert.That(tunnel.Status.Health, Is.EqualTo(TunnelHealth.Healthy), "fresh handshake at start");

        // The peer's counters never move; once NoTrafficTimeout has passed with the links failing, the tunnel is blamed.
        // The poller starts on its own task, so time is advanced until it has read the device again.
        for (int i = 0; i < 100 && tunnel.Status.Health == TunnelHealth.Healthy; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }

        Assert.That(tunnel.Status.Health, Is.EqualTo(TunnelHealth.Unhealthy));
        Assert.That(tunnel.Status.Reason, Does.Contain("while the backhaul links are failing"));
        await host.StopAsync();
    }

    private Dictionary<string, string?> External() => new()
    {
        ["Mode"] = "External",
        ["Backend"] = "Userspace",
        ["Interface"] = "wgh0",
        ["SocketDirectory"] = _directory,
        ["NoTrafficTimeout"] = "00:00:01",
        ["PollInterval"] = "00:00:01",
    };

    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create($"{Section}:{s.Key}", s.Value)));
        builder.Services.AddLogging();
        return builder;
    }

    private sealed class FailingLinks : IBackhaulLinkState
    {
        public bool LinksFailing => true;
    }

    /// <summary>A userspace device's UAPI socket answering every get with one peer whose counters never move.</summary>
    private sealed class FakeUapiDevice : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;
        private readonly byte[] _answer;

        public FakeUapiDevice(string path, DateTimeOffset handshake)
        {
            _answer = Encoding.ASCII.GetBytes(
                $"private_key={WireGuardKeyPair.Generate().PrivateKey.ToHex()}\nlisten_port=51820\n" +
                $"public_key={WireGuardKeyPair.Generate().PublicKey.ToHex()}\nendpoint=192.0.2.7:51820\n" +
                $"last_handshake_time_sec={handshake.ToUnixTimeSeconds()}\nlast_handshake_time_nsec=0\n" +
                "tx_bytes=100\nrx_bytes=100\npersistent_keepalive_interval=0\nallowed_ip=10.9.0.1/32\nerrno=0\n\n");
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen();
            _serving = ServeAsync();
        }

        private async Task ServeAsync()
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    using var connection = await _listener.AcceptAsync(_stop.Token);
                    var request = new StringBuilder();
                    while (!request.ToString().EndsWith("\n\n", StringComparison.Ordinal))
                    {
                        int read = await connection.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                        if (read == 0)
                        {
                            break;
                        }

                        request.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    }

                    await connection.SendAsync(_answer, SocketFlags.None, _stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // disposed
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _serving.GetAwaiter().GetResult();
            _listener.Dispose();
            _stop.Dispose();
        }
    }
}
