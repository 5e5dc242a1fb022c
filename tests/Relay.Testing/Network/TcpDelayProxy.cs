using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Relay.Testing.Network;

/// <summary>
/// The near link (client ↔ relay): a TCP proxy on loopback that holds every chunk <see cref="OneWay"/> in each
/// direction, in order. A proxy cannot delay the client's own SYN/SYN-ACK (the kernel completes that at once), so
/// the first round trip is charged explicitly: nothing reaches the relay before accept + 3 × one-way, which is when
/// the client's first bytes would arrive had its TCP handshake crossed the link (SYN, SYN-ACK, then the data).
/// </summary>
public sealed class TcpDelayProxy : IDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();

    public TcpDelayProxy(IPEndPoint listen, IPEndPoint target, TimeSpan oneWay)
    {
        _target = target;
        OneWay = oneWay;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(listen);
        _listener.Listen(512);
        _ = Task.Run(AcceptAsync);
    }

    public TimeSpan OneWay { get; }

    /// <summary>How late the chunks went out against <see cref="OneWay"/> (the first flight's explicit handshake charge included).</summary>
    public Lateness Lateness { get; } = new();

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndPoint!;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(Socket client)
    {
        long accepted = Stopwatch.GetTimestamp();
        long oneWay = (long)(OneWay.TotalSeconds * Stopwatch.Frequency);
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(_target, _stop.Token);
            await Task.WhenAll(
                PumpAsync(client, upstream, oneWay, notBefore: accepted + 3 * oneWay),
                PumpAsync(upstream, client, oneWay, notBefore: 0));
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (SocketException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to, long delay, long notBefore)
    {
        var queue = Channel.CreateUnbounded<(long Due, byte[]? Chunk)>(new() { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(async () =>
        {
            try
            {
                await foreach (var (due, chunk) in queue.Reader.ReadAllAsync(_stop.Token))
                {
                    await Clock.SleepUntilAsync(due, _stop.Token);
                    Lateness.Record(due);
                    if (chunk is null)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    await to.SendAsync(chunk, SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                from.Dispose();
                to.Dispose();
            }
        });

        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                long due = Math.Max(Stopwatch.GetTimestamp() + delay, notBefore);
                queue.Writer.TryWrite((due, n == 0 ? null : buffer.AsSpan(0, n).ToArray()));
                if (n == 0)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            to.Dispose();
        }

        queue.Writer.TryComplete();
        await writer;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }
}
