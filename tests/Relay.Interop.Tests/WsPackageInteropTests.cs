using Relay.Testing;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Relay.CoreSim;
using Relay.Gateway;
using Relay.Testing.Processes;

namespace Relay.Interop.Tests;

/// <summary>A third-party client: the npm <c>ws</c> package runs tests/interop/ws-session.mjs (hello, room chat, echo,
/// two forced cuts with messages unacknowledged both ways, resumes) against real core-sim and gateways on free ports.</summary>
[TestFixture]
[NonParallelizable]
public sealed class WsPackageInteropTests
{
    private const string SharedKey = "xS1nfgGopMy2OVEbj3RJeaDJ8w2buD7YiM4eb/rQPjw=";

    [Test]
    [CancelAfter(120_000)]
    public async Task WsPackage_ThroughTwoGateways_ChatsAndResumesWithNothingLost(CancellationToken ct)
    {
        string node = await NodeRunner.RequireNodeWithPackagesAsync(ct);
        string dir = TempFolders.Create("relay-interop-");
        string publicKey = Path.Combine(dir, "core-public.pem");
        await using var core = await StartCoreAsync(publicKey, ct);
        var first = await StartGatewayAsync("gw-interop-a", core.BackhaulPort, publicKey, ct);
        var second = await StartGatewayAsync("gw-interop-b", core.BackhaulPort, publicKey, ct);
        try
        {
            var result = await RunScriptAsync(node, core, WsUri(first), WsUri(second), ct);
            AssertNothingLost(result);
            Assert.That(result.GetProperty("resumes").GetInt32(), Is.EqualTo(2), "resumed once through the second gateway, once back through the first");
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task WsPackage_DirectToCoreSim_ChatsAndResumesWithNothingLost(CancellationToken ct)
    {
        string node = await NodeRunner.RequireNodeWithPackagesAsync(ct);
        string dir = TempFolders.Create("relay-interop-");
        await using var core = await StartCoreAsync(Path.Combine(dir, "core-public.pem"), ct);
        try
        {
            AssertNothingLost(await RunScriptAsync(node, core, core.WebSocketUri, core.WebSocketUri, ct));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void AssertNothingLost(JsonElement result) => Assert.Multiple(() =>
    {
        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, result.GetProperty("reason").GetString());
        Assert.That(result.GetProperty("echoes").GetInt32(), Is.EqualTo(20), "every echo reached the ws client");
        Assert.That(result.GetProperty("roomToA").GetInt32(), Is.EqualTo(10), "every room message from the operator, including five written while the visitor was cut off");
        Assert.That(result.GetProperty("roomToB").GetInt32(), Is.EqualTo(5), "every room message from the visitor");
        Assert.That(result.GetProperty("lost").GetInt32(), Is.Zero);
        Assert.That(result.GetProperty("duplicated").GetInt32(), Is.Zero);
        Assert.That(result.GetProperty("inOrder").GetBoolean(), Is.True);
        Assert.That(result.GetProperty("resumedAll").GetBoolean(), Is.True, "every reconnect resumed the same session");
        Assert.That(result.GetProperty("resentAfterResume").GetInt32(), Is.GreaterThanOrEqualTo(2), "messages written while cut off went out after the resume");
    });

    private static async Task<JsonElement> RunScriptAsync(string node, CoreSimHost core, Uri url, Uri resumeUrl, CancellationToken ct)
    {
        var env = new Dictionary<string, string>
        {
            ["RELAY_TOKEN_A"] = core.Tokens.Issue("interop-visitor", "interop", "visitor", TimeSpan.FromHours(1)).Token,
            ["RELAY_TOKEN_B"] = core.Tokens.Issue("interop-operator", "interop", "operator", TimeSpan.FromHours(1)).Token,
        };
        var run = await ProcessRunner.RunAsync(
            node,
            [Path.Combine(NodeRunner.InteropDirectory, "ws-session.mjs"), "--url", url.ToString(), "--resume-url", resumeUrl.ToString(), "--timeout", "60"],
            ct,
            NodeRunner.InteropDirectory,
            env);
        TestContext.Out.WriteLine(run.StdOut);
        TestContext.Out.WriteLine(run.StdErr);
        string? line = run.StdOut.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        Assert.That(line, Is.Not.Null, $"the script printed no RESULT line (exit {run.ExitCode})");
        var result = JsonDocument.Parse(line!["RESULT ".Length..]).RootElement.Clone();
        Assert.That(run.ExitCode, Is.Zero, line);
        return result;
    }

    private static Task<CoreSimHost> StartCoreAsync(string publicKey, CancellationToken ct) => CoreSimHost.StartAsync(o =>
    {
        o.BindAddress = "127.0.0.1";
        o.HttpPort = 0;
        o.BackhaulPort = 0;
        o.SharedKey = SharedKey;
        o.PublicKeyPath = publicKey;
    }, ct);

    private static Uri WsUri(WebApplication app)
    {
        string http = GatewayHost.Urls(app).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        return new Uri("ws" + http[4..] + "/ws");
    }

    private static async Task<WebApplication> StartGatewayAsync(string id, int backhaulPort, string publicKey, CancellationToken ct)
    {
        var app = GatewayHost.Build([], o =>
        {
            o.HttpPort = 0;
            o.BindAddress = "127.0.0.1";
            o.PublicKeyPath = publicKey;
            o.Backhaul.Endpoints = [$"127.0.0.1:{backhaulPort}"];
            o.Backhaul.SharedKey = SharedKey;
            o.Backhaul.RelayId = id;
            o.Backhaul.LinksPerEndpoint = 2;
            o.Health.AgentPort = 0;
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
        });
        await app.StartAsync(ct);
        using var http = new HttpClient();
        string url = GatewayHost.Urls(app).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        for (int i = 0; i < 200 && (await http.GetAsync(url + "/readyz", ct)).StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(50, ct);
        }

        return app;
    }
}
