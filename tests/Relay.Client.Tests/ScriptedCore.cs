using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Relay.Testing;

namespace Relay.Client.Tests;

/// <summary>
/// A real websocket server on loopback that plays a core whose every connection follows a script the test writes (welcome
/// or not, what to send, which close code): the misbehaving cores a client must survive. Each connection's hello is read
/// here and recorded with the time on the test's clock; once its script returns, the connection is drained until the
/// client ends it.
/// </summary>
internal sealed class ScriptedCore : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ScriptedConnection> _connections = new();

    private ScriptedCore(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>The connections so far, in the order their hellos arrived.</summary>
    public IReadOnlyList<ScriptedConnection> Connections => [.. _connections.OrderBy(c => c.Index)];

    public int Count => _connections.Count;

    public static async Task<ScriptedCore> StartAsync(Func<ScriptedConnection, Task> script, TimeProvider time, CancellationToken ct)
    {
        int connections = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var core = new ScriptedCore(app);
        app.UseWebSockets();
        app.Map("/ws", async (HttpContext context) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var stop = context.RequestAborted;
            try
            {
                var hello = await ScriptedConnection.ReadFrameAsync(socket, stop);
                if (hello is null)
                {
                    return;
                }

                var connection = new ScriptedConnection(Interlocked.Increment(ref connections), socket, hello.Value, time.GetUtcNow(), stop);
                core._connections.Enqueue(connection);
                await script(connection);
                while (socket.State == WebSocketState.Open && await ScriptedConnection.ReadFrameAsync(socket, stop) is not null)
                {
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
            }
        });
        await app.StartAsync(ct);
        int port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
        core.Url = new Uri($"ws://127.0.0.1:{port}/ws");
        return core;
    }

    /// <summary>Waits (real time, bounded) until <paramref name="count"/> connections have sent their hello.</summary>
    public async Task<ScriptedConnection> WaitForConnectionAsync(int count, CancellationToken ct)
    {
        for (int i = 0; i < 1000 && Count < count; i++)
        {
            await Task.Delay(10, ct);
        }

        Assert.That(Count, Is.GreaterThanOrEqualTo(count), $"connection {count} never came");
        return Connections[count - 1];
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>One connection of a <see cref="ScriptedCore"/>, after its hello.</summary>
internal sealed class ScriptedConnection(int index, WebSocket socket, JsonElement hello, DateTimeOffset helloAt, CancellationToken stop)
{
    /// <summary>1 for the first connection.</summary>
    public int Index => index;

    public JsonElement Hello => hello;

    /// <summary>When the hello arrived, on the test's clock.</summary>
    public DateTimeOffset HelloAt => helloAt;

    public bool IsResume => hello.TryGetProperty("resume", out _);

    /// <summary>The resume's <c>lastSeq</c>: the last message the client says it has from the core.</summary>
    public long ResumeLastSeq => hello.GetProperty("resume").GetProperty("lastSeq").GetInt64();

    /// <summary>Set when the test may let the script go on (e.g. close the connection).</summary>
    public TaskCompletionSource Go { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task WelcomeAsync(long lastSeq = 0, bool? resumed = null) =>
        SendAsync($$"""{"type":"welcome","session":"s-1","resumeToken":"rt-1","lastSeq":{{lastSeq}},"resumed":{{((resumed ?? IsResume) ? "true" : "false")}}}""");

    public Task SendAsync(string json) => socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, stop);

    public Task CloseAsync(int code, string reason) => socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, stop);

    /// <summary>The next <paramref name="count"/> <c>msg</c> frames from the client (acks and pings skipped), bounded in time.</summary>
    public async Task<List<JsonElement>> ReadMessagesAsync(int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var messages = new List<JsonElement>();
        try
        {
            while (messages.Count < count)
            {
                var frame = await ReadFrameAsync(socket, timeout.Token);
                if (frame is null)
                {
                    break;
                }

                if (frame.Value.GetProperty("type").GetString() == "msg")
                {
                    messages.Add(frame.Value);
                }
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            // Fewer came: the test asserts on what did.
        }

        return messages;
    }

    internal static Task<JsonElement?> ReadFrameAsync(WebSocket socket, CancellationToken ct) => RawSession.ReadJsonAsync(socket, ct);
}
