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
}
