using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Relay.Gateway.Tests.EdgeHttp;

namespace Relay.Gateway.Tests.EdgeHttp.Cache;

/// <summary>
/// Request coalescing has a deadline (<c>CacheFills</c>, <c>LockTimeoutMilliseconds</c>): a request for a key another
/// request is filling waits at most that long, then goes to the origin itself. Until stop 42 it was output caching's
/// locking, whose waiters waited for the whole first request, which ends only when its client has read the body: one
/// client that asked first and read slowly (above Kestrel's minimum data rate) held every other user's request for that
/// asset as long as it liked (found by a security review). The key is cold at the start, after a purge, after each edge
/// TTL, or after query-string variants pushed it out of the store.
/// </summary>
[NonParallelizable]
public class EdgeCacheSlowLeaderTests
{
    private static readonly HttpClient s_http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromMinutes(2) };

    [Test]
    [CancelAfter(90_000)]
    public async Task SlowReadingFirstClient_DoesNotHoldOtherClientsRequestsForTheSameAsset(CancellationToken token)
    {
        const long size = 4L * 1024 * 1024; // under MaximumBodyBytes (8 MiB): a storable asset
        await using var h = await EdgeHttpHarness.StartAsync(token, gatewayArgs: ["--Gateway:EdgeHttp:Cache:Rules:0:Path=/files/**"]);
        string id = await UploadAsync(h, size, token);
        string path = "/files/" + id;

        // The attacker: a small receive window, the request, then 1 KiB every 200 ms (5 KiB/s, far above Kestrel's
        // MinResponseDataRate of 240 B/s): 4 MiB would take ~14 minutes.
        using var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await attacker.ConnectAsync(new IPEndPoint(IPAddress.Loopback, h.Relay.Port), token);
        await attacker.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {h.Relay.Authority}\r\n\r\n"), SocketFlags.None, token);
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(token);
        var slowReader = Task.Run(
            async () =>
            {
                var buffer = new byte[1024];
                try
                {
                    for (int i = 0; i < 1000 && !stopReading.IsCancellationRequested; i++)
                    {
                        if (await attacker.ReceiveAsync(buffer, SocketFlags.None, stopReading.Token) == 0)
                        {
                            return;
                        }

                        await Task.Delay(200, stopReading.Token);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                }
            },
            CancellationToken.None);
        await Task.Delay(1000, token); // its request is the one running for the key

        // Another user, a moment later, the same asset: the origin is right there and the relay is idle.
        using var victimTimeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        victimTimeout.CancelAfter(TimeSpan.FromSeconds(10));
        var watch = Stopwatch.StartNew();
        string outcome;
        try
        {
            using var response = await s_http.GetAsync(new Uri(h.Relay, path), victimTimeout.Token);
            byte[] body = await response.Content.ReadAsByteArrayAsync(victimTimeout.Token);
            outcome = $"{(int)response.StatusCode}, {body.Length} bytes in {watch.Elapsed.TotalSeconds:F1} s";
        }
        catch (OperationCanceledException)
        {
            outcome = $"no answer after {watch.Elapsed.TotalSeconds:F1} s";
        }

        // The same file under another key (a query string) is served at once meanwhile: the origin, the backhaul and
        // the relay are fine; only the key the slow client asked for first is held.
        using var other = await s_http.GetAsync(new Uri(h.Relay, path + "?another=key"), token);
        long otherLength = (await other.Content.ReadAsByteArrayAsync(token)).Length;
        stopReading.Cancel();
        attacker.Dispose();
        await slowReader;

        Assert.That((other.StatusCode, otherLength), Is.EqualTo((HttpStatusCode.OK, size)), "the same bytes under another key");
        Assert.That(outcome, Does.StartWith("200, " + size + " bytes"), "the second user's request waited on the slow first client");
    }

    private static async Task<string> UploadAsync(EdgeHttpHarness h, long size, CancellationToken token)
    {
        using var upload = EdgeHttpHarness.Request(HttpMethod.Post, h.Direct, "/files", h.Token(), new GeneratedContent(size, seed: 11));
        using var response = await s_http.SendAsync(upload, token);
        return (await response.Content.ReadFromJsonAsync<JsonObject>(token))!["id"]!.GetValue<string>();
    }
}
