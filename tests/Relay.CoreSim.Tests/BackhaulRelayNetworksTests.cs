using System.Net;
using System.Net.Sockets;

namespace Relay.CoreSim.Tests;

/// <summary>
/// CoreSim:RelayNetworks (a security review, stop 42; was docs/known-gaps.md): the backhaul's reserved handshake slots
/// helped only sources a relay had authenticated from since the process started, so after a restart, or for a relay new
/// to the core, idle connections holding every open slot kept it out. Sources in the relays' networks take the reserved
/// slots from the start. Real loopback sockets: the flood from 127.0.1.x, the relay from 127.0.0.1. Small limits (8
/// slots, 4 of them reserved) and a one-minute handshake deadline, so four idle connections hold every open slot for the
/// whole test (the flood of tests/Relay.Tunnel.Tests/Server/UnknownRelayFloodTests.cs at the default limits, in little).
/// </summary>
public sealed class BackhaulRelayNetworksTests
{
    private const int OpenSlots = 4;

    [Test]
    [CancelAfter(60_000)]
    public async Task IdleConnectionsHoldEveryOpenSlot_ARelayNewToTheCore_FromRelayNetworks_GetsItsLink(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync(o =>
        {
            o.BackhaulMaxPendingHandshakes = 2 * OpenSlots;
            o.BackhaulReservedHandshakes = OpenSlots;
            o.BackhaulHandshakeTimeout = TimeSpan.FromMinutes(1);
            o.RelayNetworks = ["127.0.0.0/24"];
        });
        var flood = new List<Socket>();
        try
        {
            for (int i = 1; i <= OpenSlots; i++)
            {
                flood.Add(await ConnectAsync(new IPAddress([127, 0, 1, (byte)i]), host.BackhaulPort, ct));
            }

            using (var elsewhere = await ConnectAsync(new IPAddress([127, 0, 1, OpenSlots + 1]), host.BackhaulPort, ct))
            {
                Assert.That(await ClosedByServerAsync(elsewhere, ct), Is.True, "the idle connections hold every slot open to sources outside RelayNetworks");
            }

            await using var relay = CoreSimFixture.RelayPool(host, "relay-new");
            using var window = CancellationTokenSource.CreateLinkedTokenSource(ct);
            window.CancelAfter(TimeSpan.FromSeconds(15));
            Assert.That(async () => await relay.WaitForLinksAsync(1, window.Token), Throws.Nothing,
                "a relay this core has never seen, from 127.0.0.0/24, gets a reserved slot while the idle connections hold the rest");
        }
        finally
        {
            foreach (var socket in flood)
            {
                socket.Dispose();
            }
        }
    }

    [Test]
    public void OutsideDevelopment_IPv4AndIPv6Networks_AndOneAddress_Start()
    {
        using var app = CoreSimHost.Build(
            ["--CoreSim:AdminKey=admin-key-0123456789abcdef", "--CoreSim:BackhaulPort=0", "--CoreSim:HttpPort=0",
             "--CoreSim:RelayNetworks:0=10.90.0.0/24", "--CoreSim:RelayNetworks:1=fd00:90::/64", "--CoreSim:RelayNetworks:2=10.91.0.7"],
            environmentName: "Production");
        Assert.That(app, Is.Not.Null);
    }

    private static async Task<Socket> ConnectAsync(IPAddress source, int port, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Whether the server closed <paramref name="socket"/> (end of stream or reset) within 10 s; an admitted one says nothing until its deadline.</summary>
    private static async Task<bool> ClosedByServerAsync(Socket socket, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            return await socket.ReceiveAsync(new byte[1], SocketFlags.None, wait.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
