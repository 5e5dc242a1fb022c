using System.Diagnostics;
using System.Net;
using System.Text;
using HdrHistogram;
using Relay.Tunnel.Links;
using Relay.Tunnel.Pool;
using Relay.Tunnel.Protocol;
using Relay.Tunnel.Server;
using Relay.Tunnel.Streams;

namespace Relay.Benchmarks;

/// <summary>
/// Loopback throughput of the backhaul: a listener and a pool in this process on real sockets.
/// One-way: every stream sends 64-byte messages as fast as credit allows; the core consumes them.
/// Echo: every stream sends one 64-byte message and waits for its echo (closed loop), with latency.
/// Bounded: --seconds per phase (default 10), --streams (1000), --links (4).
/// </summary>
public static class ThroughputBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        int streams = Arg(args, "--streams", 1000), links = Arg(args, "--links", 4), seconds = Math.Clamp(Arg(args, "--seconds", 10), 1, 120);
        var key = Encoding.UTF8.GetBytes("bench-shared-key-0123456789abcdef");
        var linkOptions = new LinkOptions { SharedKey = key };
        await using var listener = new LinkListener(new LinkListenerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), NodeId = "bench-core", Link = linkOptions });
        listener.Start();
        await using var pool = new LinkPool(new LinkPoolOptions { RelayId = "bench-relay", Endpoints = [listener.LocalEndPoint.ToString()], LinksPerEndpoint = links, Link = new LinkOptions { SharedKey = key } });
        pool.Start();
        await pool.WaitForLinksAsync(links);

        long received = 0, sent = 0;
        bool echo = false;
        using var stop = new CancellationTokenSource();
        var core = Task.Run(async () =>
        {
            var handlers = new List<Task>();
            try
            {
                while (true)
                {
                    var s = await listener.AcceptStreamAsync(stop.Token);
                    handlers.Add(Task.Run(async () =>
                    {
                        while (true)
                        {
                            using var m = await s.ReceiveAsync(stop.Token);
                            if (m.Type == StreamMessageType.Close)
                            {
                                return;
                            }

                            if (Volatile.Read(ref echo))
                            {
                                await s.SendAsync(m.Data, false, stop.Token);
                            }
                            else
                            {
                                Interlocked.Increment(ref received);
                            }
                        }
                    }));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var all = Enumerable.Range(0, streams).Select(i => pool.OpenStream(new OpenInfo($"bench-{i}", "127.0.0.1", OpenInfo.NoClaims))).ToArray();
        var payload = new byte[64];
        Console.WriteLine($"backhaul loopback: {streams} streams over {links} links, 64-byte messages, {seconds} s per phase, {Environment.ProcessorCount} cores");

        // Phase 1: one way.
        var before = (Sent: pool.Counters.FramesSent + listener.Counters.FramesSent, Received: pool.Counters.FramesReceived + listener.Counters.FramesReceived);
        var sw = Stopwatch.StartNew();
        using (var phase = new CancellationTokenSource(TimeSpan.FromSeconds(seconds)))
        {
            await Task.WhenAll(all.Select(s => Task.Run(async () =>
            {
                try
                {
                    while (!phase.IsCancellationRequested)
                    {
                        await s.SendAsync(payload, false, phase.Token);
                        Interlocked.Increment(ref sent);
                    }
                }
                catch (OperationCanceledException)
                {
                }
            })));
        }

        double elapsed = sw.Elapsed.TotalSeconds;
        for (int i = 0; i < 100 && Interlocked.Read(ref received) < Interlocked.Read(ref sent); i++)
        {
            await Task.Delay(100); // let the core drain what is in flight, so the echo phase starts clean
        }

        var after = (Sent: pool.Counters.FramesSent + listener.Counters.FramesSent, Received: pool.Counters.FramesReceived + listener.Counters.FramesReceived);
        long delivered = Interlocked.Read(ref sent);
        Console.WriteLine($"one-way: {delivered / elapsed:N0} messages/s sent and delivered to the core app ({delivered:N0} in {elapsed:F1} s); frames on the wire {(after.Sent - before.Sent) / elapsed:N0}/s written, {(after.Received - before.Received) / elapsed:N0}/s read (both directions, acks included)");

        // Phase 2: echo, closed loop.
        Volatile.Write(ref echo, true);
        var histogram = new LongHistogram(TimeStamp.Seconds(10), 3);
        long roundTrips = 0;
        sw.Restart();
        using (var phase = new CancellationTokenSource(TimeSpan.FromSeconds(seconds)))
        {
            await Task.WhenAll(all.Select(s => Task.Run(async () =>
            {
                var local = new LongHistogram(TimeStamp.Seconds(10), 3);
                try
                {
                    while (!phase.IsCancellationRequested)
                    {
                        long start = Stopwatch.GetTimestamp();
                        await s.SendAsync(payload, false, phase.Token);
                        using var m = await s.ReceiveAsync(phase.Token);
                        local.RecordValue(Stopwatch.GetTimestamp() - start);
                        Interlocked.Increment(ref roundTrips);
                    }
                }
                catch (OperationCanceledException)
                {
                }

                lock (histogram)
                {
                    histogram.Add(local);
                }
            })));
        }

        elapsed = sw.Elapsed.TotalSeconds;
        double Us(double percentile) => histogram.GetValueAtPercentile(percentile) * 1_000_000.0 / Stopwatch.Frequency;
        Console.WriteLine($"echo: {roundTrips / elapsed:N0} round trips/s; latency p50 {Us(50):N0} µs, p99 {Us(99):N0} µs, p99.9 {Us(99.9):N0} µs, max {histogram.GetMaxValue() * 1_000_000.0 / Stopwatch.Frequency:N0} µs");
        stop.Cancel();
        await core;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
    }
}
