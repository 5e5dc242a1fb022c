using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Relay.Client;
using Relay.CoreSim.Configuration;
using Relay.Testing;
using Relay.Tunnel.Links;
using Relay.Tunnel.Pool;

namespace Relay.CoreSim.Tests;

/// <summary>Helpers shared by the tests: a core-sim on loopback ports, tokens, raw websocket sessions.</summary>
internal static class CoreSimFixture
{
    public static Task<CoreSimHost> StartAsync(Action<CoreSimOptions>? configure = null) => StartAsync(TimeProvider.System, configure);

    /// <summary>A core-sim on <paramref name="time"/> (a fake clock: token and file ages without waiting).</summary>
    public static Task<CoreSimHost> StartAsync(TimeProvider time, Action<CoreSimOptions>? configure = null, string environment = "Development") =>
        CoreSimHost.StartAsync(environment, o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
            configure?.Invoke(o);
        }, time);

    /// <summary>A relay's link pool to <paramref name="host"/>'s backhaul on 127.0.0.1, started (the development key unless <paramref name="key"/>).</summary>
    public static LinkPool RelayPool(CoreSimHost host, string relayId, byte[]? key = null, int links = 1)
    {
        var pool = new LinkPool(new LinkPoolOptions
        {
            RelayId = relayId,
            Region = "test",
            Endpoints = [$"127.0.0.1:{host.BackhaulPort}"],
            LinksPerEndpoint = links,
            Link = new LinkOptions { SharedKey = key ?? Encoding.UTF8.GetBytes(CoreSimOptions.DevelopmentSharedKey) },
        });
        pool.Start();
        return pool;
    }

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

    /// <summary>Opens a session as <paramref name="sub"/>, sends one message ("while away"), waits for the core's ack and
    /// drops the connection without acknowledging the echo: a detached session with one message to replay.</summary>
    public static async Task<DroppedSession> DropWithOneUnacknowledgedAsync(CoreSimHost host, string sub, CancellationToken ct)
    {
        string token = Token(host, sub);
        await using var raw = await RawSession.ConnectAsync(WsUri(host, token), ct);
        await raw.SendAsync(new { type = "hello" }, ct);
        var welcome = await raw.ReceiveTypeAsync("welcome", ct);
        await raw.SendAsync(new { type = "msg", seq = 1, body = "while away" }, ct);
        JsonElement? m;
        do
        {
            m = await raw.ReceiveAsync(ct);
        }
        while (m is { } f && !(f.TryGetProperty("ack", out var ack) && ack.GetInt64() == 1));

        raw.Socket.Abort();
        return new DroppedSession(welcome.GetProperty("session").GetString()!, welcome.GetProperty("resumeToken").GetString()!, token);
    }

    /// <summary>A new connection whose hello resumes <paramref name="dropped"/>.</summary>
    public static async Task<RawSession> ResumeAsync(CoreSimHost host, DroppedSession dropped, CancellationToken ct)
    {
        var raw = await RawSession.ConnectAsync(WsUri(host, dropped.Token), ct);
        await raw.SendAsync(new { type = "hello", resume = new { session = dropped.Session, resumeToken = dropped.ResumeToken, lastSeq = 0 } }, ct);
        return raw;
    }
}

/// <summary>A session left detached by <see cref="CoreSimFixture.DropWithOneUnacknowledgedAsync"/>.</summary>
internal sealed record DroppedSession(string Session, string ResumeToken, string Token);
