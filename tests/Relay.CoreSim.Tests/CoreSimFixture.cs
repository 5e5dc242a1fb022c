using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Relay.Client;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Tests;

/// <summary>Helpers shared by the tests: a core-sim on loopback ports, tokens, raw websocket sessions.</summary>
internal static class CoreSimFixture
{
    public static Task<CoreSimHost> StartAsync(Action<CoreSimOptions>? configure = null) => CoreSimHost.StartAsync(o =>
    {
        o.BindAddress = "127.0.0.1";
        o.HttpPort = 0;
        o.BackhaulPort = 0;
        configure?.Invoke(o);
    });

    public static string Token(CoreSimHost host, string sub, string role = "visitor", string site = "s1") =>
        host.Tokens.Issue(sub, site, role, TimeSpan.FromHours(1)).Token;

    public static Uri WsUri(CoreSimHost host, string token) => new($"{host.WebSocketUri}?access_token={Uri.EscapeDataString(token)}");

    public static RelayClient Client(CoreSimHost host, string sub, string role = "visitor", params string[] rooms) => new(new RelayClientOptions
    {
        Urls = [host.WebSocketUri],
        TokenProvider = _ => ValueTask.FromResult(Token(host, sub, role)),
        Rooms = rooms,
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
    });

    /// <summary>A POST with the admin key (faults, operator tokens).</summary>
    public static async Task<JsonElement> PostAsync(CoreSimHost host, string path, object body)
    {
        using var http = Admin(host);
        using var response = await http.PostAsJsonAsync(path, body);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>An HTTP client for core-sim that sends the admin key.</summary>
    public static HttpClient Admin(CoreSimHost host)
    {
        var http = new HttpClient { BaseAddress = host.HttpUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", host.AdminKey);
        return http;
    }

    public static async Task<JsonElement> GetAsync(CoreSimHost host, string path)
    {
        using var http = new HttpClient { BaseAddress = host.HttpUri };
        return await http.GetFromJsonAsync<JsonElement>(path);
    }

    public static async Task<List<ChatMessage>> ReadAsync(RelayClient client, int count, CancellationToken ct)
    {
        var list = new List<ChatMessage>();
        await foreach (var m in client.ReadAllAsync(ct))
        {
            list.Add(m);
            if (list.Count == count)
            {
                break;
            }
        }

        return list;
    }
}
