using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Packaging.Tests;

/// <summary>
/// The gateway's sd_notify (issue 19), seen from a socket this test owns as NOTIFY_SOCKET, as systemd would see it:
/// READY=1 only once /readyz answers 200 (never while it is 503: the relay starts before its core), STOPPING=1 at
/// SIGTERM.
/// </summary>
public class SystemdNotifyTests
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Test]
    [CancelAfter(120_000)]
    public async Task Gateway_WithNotifySocket_SaysReadyOnlyOnceReadyzIs200_AndStoppingAtSigterm(CancellationToken token)
    {
        string dir = TempFolders.Create("relay-notify-");
        string path = Path.Combine(dir, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        await using var relay = RelayUnderTest.Start(new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = path });

        // No core yet: the gateway listens and answers /readyz 503 — and says nothing to systemd.
        await relay.Gateway.WaitForHttpAsync(new Uri(relay.Http, "/readyz"), HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30), token);
        for (int i = 0; i < 10; i++)
        {
            Assert.That(await ReadyzAsync(relay, token), Is.EqualTo(HttpStatusCode.ServiceUnavailable), "no core: not ready");
            await Task.Delay(200, token);
        }

        Assert.That(Pending(socket), Is.Empty, "nothing sent to NOTIFY_SOCKET while /readyz is 503 (the host has started)");

        // The core comes up: the links come up, /readyz turns 200, and READY=1 arrives — with /readyz 200 at that moment.
        await relay.StartCoreAsync(token);
        string ready = await ReceiveAsync(socket, TimeSpan.FromSeconds(60), token);
        var readyzAtReady = await ReadyzAsync(relay, token);
        Assert.Multiple(() =>
        {
            Assert.That(ready.Split('\n'), Does.Contain("READY=1"), "the first message is READY=1");
            Assert.That(readyzAtReady, Is.EqualTo(HttpStatusCode.OK), "READY=1 came when /readyz answers 200");
        });

        // SIGTERM: STOPPING=1, then the process exits by itself.
        ProcessRunner.Run(["kill", "-TERM", relay.Gateway.Id.ToString(CultureInfo.InvariantCulture)]);
        string stopping = await ReceiveAsync(socket, TimeSpan.FromSeconds(30), token);
        Assert.That(stopping.Split('\n'), Does.Contain("STOPPING=1"), "after SIGTERM");
        for (int i = 0; i < 300 && !relay.Gateway.HasExited; i++)
        {
            await Task.Delay(100, token);
        }

        Assert.That(relay.Gateway.HasExited, Is.True, "the gateway exits after SIGTERM");
        Assert.That(Pending(socket), Has.None.Contains("READY=1"), "READY=1 was sent once");
    }

    private static async Task<HttpStatusCode> ReadyzAsync(RelayUnderTest relay, CancellationToken token)
    {
        using var response = await s_http.GetAsync(new Uri(relay.Http, "/readyz"), token);
        return response.StatusCode;
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan limit, CancellationToken token)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
        cts.CancelAfter(limit);
        var buffer = new byte[4096];
        try
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            Assert.Fail($"nothing on NOTIFY_SOCKET in {limit.TotalSeconds} s");
            throw;
        }
    }

    /// <summary>The datagrams waiting now, without waiting for more.</summary>
    private static List<string> Pending(Socket socket)
    {
        var messages = new List<string>();
        var buffer = new byte[4096];
        while (socket.Available > 0)
        {
            int n = socket.Receive(buffer);
            messages.Add(Encoding.UTF8.GetString(buffer, 0, n));
        }

        return messages;
    }
}
