using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Relay.Testing.Processes;

namespace Relay.Testing.Steering;

/// <summary>A gateway as a real process (so it can be drained, made sick and SIGKILLed).</summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    public const string AdminKey = "steering-admin-key";
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly ChildProcess _process;

    private GatewayProcess(string id, int port, int agentPort, ChildProcess process)
    {
        Id = id;
        Port = port;
        AgentPort = agentPort;
        _process = process;
    }

    public string Id { get; }

    public int Port { get; }

    public int AgentPort { get; }

    public string Http => $"http://127.0.0.1:{Port}";

    public bool Exited => _process.HasExited;

    public static GatewayProcess Start(string id, int backhaulPort, string publicKeyPath, string sharedKey, params string[] extra) =>
        StartAt(Ports.Free(), id, backhaulPort, publicKeyPath, sharedKey, extra);

    /// <summary>Starts a gateway on a port chosen before (e.g. written into a regions file or its own public URL).</summary>
    public static GatewayProcess StartAt(int port, string id, int backhaulPort, string publicKeyPath, string sharedKey, params string[] extra)
    {
        int agent = Ports.Free();
        var process = RelayProcesses.StartGateway(id, logPath: null,
        [
            "--Gateway:BindAddress=127.0.0.1", $"--Gateway:HttpPort={port}", $"--Gateway:PublicKeyPath={publicKeyPath}",
            $"--Gateway:Backhaul:Endpoints:0=127.0.0.1:{backhaulPort}", $"--Gateway:Backhaul:SharedKey={sharedKey}",
            $"--Gateway:Backhaul:RelayId={id}", "--Gateway:Backhaul:Region=test", "--Gateway:Backhaul:LinksPerEndpoint=2",
            "--Gateway:Backhaul:HeartbeatInterval=00:00:00.5", "--Gateway:Backhaul:DeadLinkTimeout=00:00:10",
            $"--Gateway:AdminKey={AdminKey}", $"--Gateway:TrustedProxies:0={HaproxyProcess.SourceAddress}", "--Gateway:ShutdownTimeout=00:00:05",
            $"--Gateway:Health:AgentPort={agent}", "--Gateway:Health:EvaluationInterval=00:00:00.2",
            "--Gateway:Health:ReportInterval=00:00:00.4", "--Gateway:Health:EnterAfter=3", "--Gateway:Health:ExitAfter=5",
            "--Gateway:Health:DrainBatchInterval=00:00:00.05", "--Gateway:Health:DrainBatchSize=20",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Relay=Information",
            .. extra,
        ]);
        return new GatewayProcess(id, port, agent, process);
    }

    /// <summary>The last lines of the gateway's output.</summary>
    public string Log => _process.Log;

    public Task WaitReadyAsync(CancellationToken token) =>
        _process.WaitForHttpAsync(new Uri(Http + "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(30), token);

    public async Task<bool> ReadyAsync(CancellationToken token)
    {
        try
        {
            return (await s_http.GetAsync(Http + "/readyz", token)).StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public async Task<string> ReadyzTextAsync(CancellationToken token) => await (await s_http.GetAsync(Http + "/readyz", token)).Content.ReadAsStringAsync(token);

    public async Task<string> StatusAsync(CancellationToken token) => await s_http.GetStringAsync(Http + "/status", token);

    public async Task<long> SessionsAsync(CancellationToken token)
    {
        var text = await s_http.GetStringAsync(Http + "/metrics", token);
        return long.Parse(SessionsRegex().Match(text).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    public async Task<HttpResponseMessage> PostAdminAsync(string path, CancellationToken token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Http + path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        return await s_http.SendAsync(request, token);
    }

    /// <summary>SIGKILL: the process dies at once, sockets and all.</summary>
    public void Kill() => _process.Kill();

    public ValueTask DisposeAsync()
    {
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"(?m)^relay_gateway_sessions(?:\{[^}]*\})? (\d+)")]
    private static partial Regex SessionsRegex();
}
