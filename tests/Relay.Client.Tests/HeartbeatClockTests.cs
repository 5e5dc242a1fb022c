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
using Microsoft.Extensions.Time.Testing;

namespace Relay.Client.Tests;

/// <summary>
/// The heartbeat runs on <see cref="RelayClientOptions.TimeProvider"/>: against a real websocket server that welcomes and
/// then never sends anything again, the ping goes out only once <see cref="RelayClientOptions.Heartbeat"/> of the client's
/// clock has passed, and after <see cref="RelayClientOptions.HeartbeatTimeout"/> more the client drops the connection and
/// resumes on a new one. Time is a <see cref="FakeTimeProvider"/>: nothing here waits for the wall clock.
/// </summary>
[TestFixture]
public sealed class HeartbeatClockTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task SilentServer_PingAfterHeartbeatOfClientTime_ThenDeadAfterTimeout_ResumesOnANewConnection(CancellationToken ct)
    {
        var frames = new ConcurrentQueue<(int Connection, JsonElement Frame)>();
        int connections = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.UseWebSockets();
        app.Map("/ws", async (HttpContext context) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            int n = Interlocked.Increment(ref connections);
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var r = await socket.ReceiveAsync(buffer, context.RequestAborted);
                    if (r.MessageType == WebSocketMessageType.Close || !r.EndOfMessage)
                    {
                        return;
                    }

                    var frame = JsonDocument.Parse(buffer.AsMemory(0, r.Count)).RootElement.Clone();
                    frames.Enqueue((n, frame));
                    if (frame.GetProperty("type").GetString() == "hello")
                    {
                        bool resumed = frame.TryGetProperty("resume", out _);
                        var welcome = $$"""{"type":"welcome","session":"s-1","resumeToken":"rt-1","lastSeq":0,"resumed":{{(resumed ? "true" : "false")}}}""";
                        await socket.SendAsync(Encoding.UTF8.GetBytes(welcome), WebSocketMessageType.Text, true, context.RequestAborted);
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        });
        await app.StartAsync(ct);
        int port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;

        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var client = new RelayClient(new RelayClientOptions
        {
            Urls = [new Uri($"ws://127.0.0.1:{port}/ws")],
            TokenProvider = _ => ValueTask.FromResult("t"),
            TimeProvider = time,
            Heartbeat = TimeSpan.FromSeconds(5),
            HeartbeatTimeout = TimeSpan.FromSeconds(4),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(1),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(1),
        });
        await client.ConnectAsync(ct);
        await Task.Delay(200, ct); // the heartbeat's first timer is set on the client's clock

        time.Advance(TimeSpan.FromSeconds(4.9));
        await Task.Delay(300, ct);
        Assert.That(frames.Select(f => f.Frame.GetProperty("type").GetString()), Has.None.EqualTo("ping"), "no ping before the heartbeat interval");

        time.Advance(TimeSpan.FromSeconds(0.2));
        var ping = await FirstAsync(frames, f => f.Frame.GetProperty("type").GetString() == "ping", time, TimeSpan.Zero, ct);
        Assert.Multiple(() =>
        {
            Assert.That(ping.Connection, Is.EqualTo(1));
            Assert.That(ping.Frame.GetProperty("id").GetInt64(), Is.EqualTo(1));
            Assert.That(Volatile.Read(ref connections), Is.EqualTo(1), "still the first connection");
        });

        // No pong, nothing at all: dead after the timeout; the client resumes on a new connection.
        time.Advance(TimeSpan.FromSeconds(3.9));
        await Task.Delay(300, ct);
        Assert.That(Volatile.Read(ref connections), Is.EqualTo(1), "not dead before the timeout");
        time.Advance(TimeSpan.FromSeconds(0.2));
        var resume = await FirstAsync(frames, f => f.Connection == 2, time, TimeSpan.FromMilliseconds(10), ct);
        Assert.That(resume.Frame.GetProperty("resume").GetProperty("session").GetString(), Is.EqualTo("s-1"));
    }

    /// <summary>Waits (real time, bounded) for a frame; advances the fake clock by <paramref name="step"/> each round (backoff timers).</summary>
    private static async Task<(int Connection, JsonElement Frame)> FirstAsync(ConcurrentQueue<(int Connection, JsonElement Frame)> frames, Func<(int Connection, JsonElement Frame), bool> match, FakeTimeProvider time, TimeSpan step, CancellationToken ct)
    {
        for (int i = 0; i < 500; i++)
        {
            foreach (var f in frames)
            {
                if (match(f))
                {
                    return f;
                }
            }

            time.Advance(step);
            await Task.Delay(20, ct);
        }

        throw new AssertionException("the frame never came");
    }
}
