using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Relay.Testing.Processes;

namespace Relay.Testing.Regions;

/// <summary>One gateway of the lab, in its own namespace: its id, region, addresses, URLs and process.</summary>
public sealed partial class LabRelay
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    internal LabRelay(string id, string region, string ns, string address, string tunnelAddress, string device)
    {
        Id = id;
        Region = region;
        Namespace = ns;
        Address = address;
        TunnelAddress = tunnelAddress;
        WireGuardInterface = device;
    }

    /// <summary>The relay id (= Gateway:Backhaul:RelayId), e.g. sg-1.</summary>
    public string Id { get; }

    public string Region { get; }

    /// <summary>Its network namespace (rly-&lt;lab&gt;-&lt;id without dash&gt;).</summary>
    public string Namespace { get; }

    /// <summary>Its address on the WAN (the A record for it).</summary>
    public string Address { get; }

    /// <summary>Its end of the WireGuard backhaul tunnel.</summary>
    public string TunnelAddress { get; }

    internal string WireGuardInterface { get; }

    public Uri Url => new($"ws://{Address}:{RegionsLab.RelayPort}/ws");

    public Uri Http => new($"http://{Address}:{RegionsLab.RelayPort}");

    public Uri Readyz => new(Http, "/readyz");

    /// <summary>Its negotiate endpoint on the WAN (answers from the fleet view the core sent it; 503 before the first).</summary>
    public Uri NegotiateUrl => new(Http, "/v1/negotiate");

    /// <summary>Its control address (a veth from the root namespace, no WAN delay): how the test process reaches it.</summary>
    public string ControlAddress { get; internal set; } = "";

    /// <summary>HTTP on the control address: /readyz, /metrics, /status, /admin/* from the test process.</summary>
    public Uri Control => new($"http://{ControlAddress}:{RegionsLab.RelayPort}");

    /// <summary>The running gateway (null before the lab started it).</summary>
    public ChildProcess? Process { get; internal set; }

    /// <summary>True while its gateway runs.</summary>
    public bool IsRunning => Process is { HasExited: false };

    /// <summary>SIGKILL its gateway (sockets and all; wireguard-go, a child, goes too).</summary>
    public void Kill() => Process?.Kill();

    /// <summary>POST /admin/drain (or /admin/undrain) with the lab's admin key; true when accepted.</summary>
    public async Task<bool> DrainAsync(CancellationToken token, bool undrain = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Control, undrain ? "/admin/undrain" : "/admin/drain"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RegionsLab.AdminKey);
        using var response = await s_http.SendAsync(request, token);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>/readyz answers 200.</summary>
    public async Task<bool> ReadyAsync(CancellationToken token)
    {
        try
        {
            using var response = await s_http.GetAsync(new Uri(Control, "/readyz"), token);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Sessions it carries now (relay_gateway_sessions from /metrics).</summary>
    public async Task<long> SessionsAsync(CancellationToken token)
    {
        string text = await s_http.GetStringAsync(new Uri(Control, "/metrics"), token);
        return long.Parse(SessionsRegex().Match(text).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    public override string ToString() => $"{Id} ({Region}, {Address})";

    [GeneratedRegex(@"(?m)^relay_gateway_sessions(?:\{[^}]*\})? (\d+)")]
    private static partial Regex SessionsRegex();
}

/// <summary>One region of the lab: its relays, its users' namespace and subnet, its fallback regions (nearest first).</summary>
public sealed record LabRegion(string Name, string UsersNamespace, string UsersAddress, string UsersSubnet, IReadOnlyList<LabRelay> Relays, IReadOnlyList<string> Fallback);
