using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Relay.Gateway;
using Relay.Gateway.Configuration;
using Relay.Testing.Backhaul;
using Relay.Tunnel.Links;
using Relay.Tunnel.Server;
using Relay.Tunnel.Streams;

namespace Relay.Gateway.Tests;

/// <summary>A real gateway (Kestrel on a free port) and a real backhaul listener standing in for the core.</summary>
internal sealed class GatewayFixture : IAsyncDisposable
{
    /// <summary>The test relay's backhaul key (base64 of 32 bytes, as outside Development).</summary>
    public const string SharedKey = "LLMGFFLcil1Xn1jFjrOXMh4lKdlRtVfiz6k75VgZNbA=";
    private static readonly ECDsa s_signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly CancellationTokenSource _stop = new();
    private Task? _coreLoop;

    public required WebApplication App { get; init; }

    public required LinkListener Core { get; init; }

    public required string WsUrl { get; init; }

    public required string HttpUrl { get; init; }

    public string? WssUrl { get; init; }

    public static string PublicKeyPath { get; } = WritePublicKey();

    /// <summary>What the core does with each stream; defaults to echo.</summary>
    public Func<MuxStream, CancellationToken, Task> CoreHandler { get; set; } = StreamEcho.RunAsync;

    public List<MuxStream> CoreStreams { get; } = [];

    public static async Task<GatewayFixture> StartAsync(Action<GatewayOptions>? configure = null, bool withCore = true, string? certificatePath = null, string[]? args = null, bool waitUntilReady = true, TimeProvider? time = null)
    {
        var core = new LinkListener(new LinkListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), NodeId = "core-test", Link = new LinkOptions { SharedKey = Convert.FromBase64String(SharedKey) } });
        core.Start();
        string coreEndpoint = withCore ? core.LocalEndPoint.ToString() : "127.0.0.1:1";
        var app = GatewayHost.Build(["--urls", "http://127.0.0.1:0", .. args ?? []], o =>
        {
            o.HttpPort = 0;
            o.HttpsPort = 0;
            o.BindAddress = "127.0.0.1";
            o.PublicKeyPath = PublicKeyPath;
            o.AdminKey = "admin-test-key";
            o.Backhaul.Endpoints = [coreEndpoint];
            o.Backhaul.SharedKey = SharedKey;
            o.Backhaul.RelayId = "gw-test";
            o.Backhaul.LinksPerEndpoint = 2;
            o.CertificatePath = certificatePath;
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
            o.Health.EvaluationInterval = TimeSpan.FromMilliseconds(100);
            o.Health.ReportInterval = TimeSpan.FromMilliseconds(200);
            o.Health.AgentPort = 0;
            o.Health.DrainBatchInterval = TimeSpan.FromMilliseconds(20);
            configure?.Invoke(o);
        }, services: time is null ? null : (Action<IServiceCollection>)(s => s.AddSingleton(time)));
        await app.StartAsync();
        var urls = GatewayHost.Urls(app);
        string http = urls.First(u => u.StartsWith("http://", StringComparison.Ordinal));
        string? https = urls.FirstOrDefault(u => u.StartsWith("https://", StringComparison.Ordinal));
        var fixture = new GatewayFixture
        {
            App = app,
            Core = core,
            HttpUrl = http,
            WsUrl = "ws" + http[4..] + "/ws",
            WssUrl = https is null ? null : "wss" + https[5..] + "/ws",
        };
        fixture._coreLoop = Task.Run(fixture.CoreLoopAsync);
        if (withCore && waitUntilReady)
        {
            using (var http2 = new HttpClient())
            {
                for (int i = 0; i < 200 && (await http2.GetAsync(http + "/readyz")).StatusCode != HttpStatusCode.OK; i++)
                {
                    await Task.Delay(50);
                }
            }

            // The readiness probe's kept-alive connection held a pre-auth place until the gateway saw it close: a test
            // counting pre-auth places (or filling the cap) starts once it is gone, not racing it.
            var gate = app.Services.GetRequiredService<Relay.Gateway.Edge.ConnectionGate>();
            for (int i = 0; i < 200 && gate.PreAuth != 0; i++)
            {
                await Task.Delay(10);
            }
        }

        return fixture;
    }

    public static string Token(string sub = "v1", string role = "visitor", TimeSpan? lifetime = null, ECDsa? key = null)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        string kid = Relay.Contracts.Tokens.TokenVerifier.KeyIdOf(key ?? s_signingKey);
        string header = B64(JsonSerializer.SerializeToUtf8Bytes(new { alg = "ES256", typ = "JWT", kid }));
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        long exp = DateTimeOffset.UtcNow.Add(lifetime ?? TimeSpan.FromHours(1)).ToUnixTimeSeconds();
        long nbf = Math.Min(now, exp - 60);
        string payload = B64(JsonSerializer.SerializeToUtf8Bytes(new { sub, site = "s1", role, iss = "relay-core", aud = "relay", nbf, exp }));
        byte[] signature = (key ?? s_signingKey).SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return header + "." + payload + "." + B64(signature);
    }

    public async Task<ClientWebSocket> ConnectAsync(string? token = null, Action<ClientWebSocketOptions>? options = null, CancellationToken ct = default)
    {
        var ws = new ClientWebSocket();
        options?.Invoke(ws.Options);
        await ws.ConnectAsync(new Uri($"{WsUrl}?access_token={token ?? Token()}"), ct);
        return ws;
    }

    public static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveAsync(WebSocket ws, CancellationToken ct)
    {
        var buffer = new byte[256 * 1024];
        int length = 0;
        ValueWebSocketReceiveResult r;
        do
        {
            r = await ws.ReceiveAsync(buffer.AsMemory(length), ct);
            length += r.Count;
        }
        while (!r.EndOfMessage);
        return (r.MessageType, buffer[..length]);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await App.StopAsync();
        await App.DisposeAsync();
        await Core.DisposeAsync();
        if (_coreLoop is not null)
        {
            await _coreLoop;
        }
    }

    private static string WritePublicKey()
    {
        string path = Path.Combine(Path.GetTempPath(), $"relay-gw-test-{Environment.ProcessId}.pem");
        File.WriteAllText(path, s_signingKey.ExportSubjectPublicKeyInfoPem());
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(path); // one file for the test process, gone with it
        return path;
    }

    private async Task CoreLoopAsync()
    {
        try
        {
            while (true)
            {
                var stream = await Core.AcceptStreamAsync(_stop.Token);
                lock (CoreStreams)
                {
                    CoreStreams.Add(stream);
                }

                var handler = CoreHandler;
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await handler(stream, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                });
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
        }
    }
}
