using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Relay.Testing;
using Relay.Testing.Cluster;

namespace Relay.Cluster.Tests;

/// <summary>What the cluster tests share: the prerequisites check (a missing broker fails under CI=true, else skips),
/// tokens from a node, raw websocket sessions.</summary>
internal static class ClusterFixture
{
    public static void RequirePrerequisites()
    {
        string? missing = RedisProcess.Missing ?? (File.Exists(Repo.CoreSimDll) && File.Exists(Repo.GatewayDll) ? null : $"not built: {Repo.CoreSimDll} / {Repo.GatewayDll}");
        if (missing is not null)
        {
            if (RedisProcess.MustRun)
            {
                Assert.Fail(missing + " (CI=true: a missing prerequisite fails)");
            }

            Assert.Ignore(missing);
        }
    }

    public static async Task<string> TokenAsync(ClusterNode node, string sub, string role, CancellationToken ct, string site = "s1")
    {
        using var http = new HttpClient { BaseAddress = node.Http, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ClusterLab.AdminKey);
        using var response = await http.PostAsJsonAsync("/v1/tokens", new { sub, site, role }, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("token").GetString()!;
    }

    public static async Task<JsonElement> FleetAsync(ClusterNode node, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = node.Http, Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetFromJsonAsync<JsonElement>("/fleet", ct);
    }

    public static Uri WithToken(Uri ws, string token) => new($"{ws}?access_token={Uri.EscapeDataString(token)}");

    /// <summary>A new session in <paramref name="room"/> (its hello names it): the session and its id, once welcomed.</summary>
    public static async Task<(RawSession Session, string Id)> JoinAsync(Uri ws, string token, string room, CancellationToken ct)
    {
        var s = await RawSession.ConnectAsync(WithToken(ws, token), ct);
        await s.SendAsync(new { type = "hello", rooms = new[] { room } }, ct);
        var welcome = await s.ReceiveTypeAsync("welcome", ct);
        return (s, welcome.GetProperty("session").GetString()!);
    }

    /// <summary>The next message of <paramref name="type"/>; fails the test (does not hang it) when none came within
    /// <paramref name="bound"/>, a bound on "never", not a measurement.</summary>
    public static async Task<JsonElement> ExpectAsync(RawSession s, string type, TimeSpan bound, string what, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(bound);
        try
        {
            return await s.ReceiveTypeAsync(type, deadline.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Assert.Fail($"{what}: no {type} within {bound.TotalSeconds} s");
            throw;
        }
    }
}
