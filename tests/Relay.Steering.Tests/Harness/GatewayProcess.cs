using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Relay.Steering.Tests.Harness;

/// <summary>A gateway as a real process (so it can be drained, made sick and SIGKILLed).</summary>
internal sealed partial class GatewayProcess : IAsyncDisposable
{
    public const string AdminKey = "steering-admin-key";
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly List<string> _output = [];

    private GatewayProcess(string id, int port, int agentPort, Process process)
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

    public static GatewayProcess Start(string id, int backhaulPort, string publicKeyPath, string sharedKey, params string[] extra)
    {
        int port = Ports.Free(), agent = Ports.Free();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            Repo.GatewayDll,
            "--Gateway:BindAddress=127.0.0.1", $"--Gateway:HttpPort={port}", $"--Gateway:PublicKeyPath={publicKeyPath}",
            $"--Gateway:Backhaul:Endpoints:0=127.0.0.1:{backhaulPort}", $"--Gateway:Backhaul:SharedKey={sharedKey}",
            $"--Gateway:Backhaul:RelayId={id}", "--Gateway:Backhaul:Region=test", "--Gateway:Backhaul:LinksPerEndpoint=2",
            "--Gateway:Backhaul:HeartbeatInterval=00:00:00.5", "--Gateway:Backhaul:DeadLinkTimeout=00:00:10",
            $"--Gateway:AdminKey={AdminKey}", "--Gateway:MaxSessionsPerIp=10000", "--Gateway:ShutdownTimeout=00:00:05",
            $"--Gateway:Health:AgentPort={agent}", "--Gateway:Health:EvaluationInterval=00:00:00.2",
            "--Gateway:Health:ReportInterval=00:00:00.4", "--Gateway:Health:EnterAfter=3", "--Gateway:Health:ExitAfter=5",
            "--Gateway:Health:DrainBatchInterval=00:00:00.05", "--Gateway:Health:DrainBatchSize=20",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Relay=Information",
            .. extra,
        ];
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the gateway");
        var gateway = new GatewayProcess(id, port, agent, process);
        process.OutputDataReceived += (_, e) => gateway.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return gateway;
    }

    public string Log
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output.TakeLast(40));
            }
        }
    }

    public async Task WaitReadyAsync(CancellationToken token)
    {
        for (int i = 0; i < 300; i++)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"gateway {Id} exited: {Log}");
            }

            if (await ReadyAsync(token))
            {
                return;
            }

            await Task.Delay(100, token);
        }

        throw new TimeoutException($"gateway {Id} never became ready: {Log}");
    }

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
        return long.Parse(SessionsRegex().Match(text).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<HttpResponseMessage> PostAdminAsync(string path, CancellationToken token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Http + path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        return await s_http.SendAsync(request, token);
    }

    /// <summary>SIGKILL: the process dies at once, sockets and all.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
            if (_output.Count > 500)
            {
                _output.RemoveRange(0, 100);
            }
        }
    }

    [GeneratedRegex(@"(?m)^relay_gateway_sessions(?:\{[^}]*\})? (\d+)")]
    private static partial Regex SessionsRegex();
}
