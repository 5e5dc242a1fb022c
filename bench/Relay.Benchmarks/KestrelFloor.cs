using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Relay.Contracts.Sessions;

namespace Relay.Benchmarks;

/// <summary>
/// The least a Kestrel websocket session can cost: the same listener, websocket options and zero-byte read as the
/// gateway, answering the hello with a welcome and holding nothing else (no token check, no backhaul stream, no
/// pumps). Idle memory per session of this process is the floor under the gateway's figure.
/// </summary>
internal static class KestrelFloor
{
    public static async Task RunAsync(string[] args)
    {
        int port = 29080;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--port" && i + 1 < args.Length)
            {
                port = int.Parse(args[++i], CultureInfo.InvariantCulture);
            }
        }

        var builder = WebApplication.CreateSlimBuilder([]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = TimeSpan.FromSeconds(15),
                KeepAliveTimeout = TimeSpan.FromSeconds(30),
            });
            var hello = new byte[4096];
            var first = await socket.ReceiveAsync(hello, CancellationToken.None);
            if (first.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            await socket.SendAsync(ServerFrames.Welcome(Guid.NewGuid().ToString("N"), "floor", 0, resumed: false), WebSocketMessageType.Text, true, CancellationToken.None);
            hello = null;
            try
            {
                while (true)
                {
                    var peek = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                    if (peek.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        return;
                    }

                    var sink = new byte[16 * 1024];
                    await socket.ReceiveAsync(sink.AsMemory(), CancellationToken.None);
                }
            }
            catch (WebSocketException)
            {
            }
        });
        Console.WriteLine($"kestrel-floor: ws://127.0.0.1:{port}/ws (pid {Environment.ProcessId})");
        await app.RunAsync();
    }
}
