using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Relay.CoreSim;
using Relay.Testing;

namespace Relay.Gateway.Tests.EdgeHttp;

/// <summary>A real core-sim and a real gateway (both Kestrel, in-process, loopback) joined by a real backhaul.</summary>
internal sealed class EdgeHttpHarness : IAsyncDisposable
{
    public const string RelayId = "edge-1";
    private readonly List<string> _dirs = [];
    private int _disposed;

    public CoreSimHost Core { get; private set; } = null!;

    public WebApplication Gateway { get; private set; } = null!;

    public Uri Direct => Core.HttpUri;

    public Uri Relay { get; private set; } = null!;

    public Uri? RelayTls { get; private set; }

    public string PublicKey { get; private set; } = null!;

    public int BackhaulPort { get; private set; }

    public string FilesDir { get; private set; } = null!;

    public static async Task<EdgeHttpHarness> StartAsync(CancellationToken token, bool withCore = true, string[]? gatewayArgs = null, string? certificate = null, string? certificateKey = null, int linksPerEndpoint = 2)
    {
        var h = new EdgeHttpHarness();
        string dir = TempFolders.Create("relay-edge-http-");
        h._dirs.Add(dir);
        h.PublicKey = Path.Combine(dir, "core-public.pem");
        h.FilesDir = Directory.CreateDirectory(Path.Combine(dir, "files")).FullName;
        h.BackhaulPort = Ports.Free();
        if (withCore)
        {
            await h.StartCoreAsync(token);
        }
        else
        {
            File.WriteAllText(h.PublicKey, ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportSubjectPublicKeyInfoPem());
        }

        h.Gateway = GatewayHost.Build(["--urls", "http://127.0.0.1:0", .. gatewayArgs ?? []], o =>
        {
            EndToEnd.RegionalRelay(o, RelayId, "local", 0, h.PublicKey, "admin-test-key", h.BackhaulPort);
            o.Backhaul.LinksPerEndpoint = linksPerEndpoint;
            o.HttpsPort = 0;
            o.CertificatePath = certificate;
            o.CertificateKeyPath = certificateKey;
        });
        if (withCore)
        {
            await EndToEnd.StartUntilReadyAsync(h.Gateway, token);
        }
        else
        {
            await h.Gateway.StartAsync(token);
        }

        var urls = GatewayHost.Urls(h.Gateway);
        h.Relay = new Uri(urls.First(u => u.StartsWith("http://", StringComparison.Ordinal)) + "/");
        h.RelayTls = urls.FirstOrDefault(u => u.StartsWith("https://", StringComparison.Ordinal)) is { } tls ? new Uri(tls.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/") : null;
        return h;
    }

    /// <summary>Starts core-sim (again) on the harness's backhaul port.</summary>
    public async Task StartCoreAsync(CancellationToken token)
    {
        Core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = BackhaulPort;
            o.SharedKey = GatewayFixture.SharedKey;
            o.PublicKeyPath = PublicKey;
            o.FilesPath = FilesDir;
            o.MaxFileBytes = 128L * 1024 * 1024;
        }, token);
    }

    public string Token(string sub = "v1", string role = "visitor") => Core.Tokens.Issue(sub, "s1", role, TimeSpan.FromHours(1)).Token;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // a test may stop it itself (and await using does it again)
        }

        if (Gateway is not null)
        {
            await Gateway.StopAsync();
            await Gateway.DisposeAsync();
        }

        if (Core is not null)
        {
            await Core.DisposeAsync();
        }

        foreach (string dir in _dirs)
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Headers that belong to one hop (RFC 9110 §7.6.1), to the moment (Date) or to the edge cache in front of the
    /// forwarding (its RFC 9211 Cache-Status and Age; the relay's own, asserted by the cache tests; and Server: a 304 the
    /// edge cache answers itself names no server, as the gateway's own responses do): left out of comparisons.</summary>
    public static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Proxy-Authenticate", "Date",
        "Cache-Status", "Age", "Server",
    };

    /// <summary>Status, end-to-end headers (sorted) and body of a response.</summary>
    public static async Task<(HttpStatusCode Status, string Headers, byte[] Body)> ReadAsync(HttpResponseMessage response, CancellationToken token)
    {
        var headers = response.Headers.Concat(response.Content.Headers)
            .Where(h => !HopHeaders.Contains(h.Key))
            .Select(h => $"{h.Key.ToLowerInvariant()}: {string.Join(", ", h.Value)}")
            .Order(StringComparer.Ordinal);
        return (response.StatusCode, string.Join("\n", headers), await response.Content.ReadAsByteArrayAsync(token));
    }

    public static HttpRequestMessage Request(HttpMethod method, Uri baseUri, string path, string? token = null, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, new Uri(baseUri, path)) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }
}
