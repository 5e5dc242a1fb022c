using System.Diagnostics;
using System.Globalization;
using System.Text;
using HdrHistogram;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Relay.Testing;
using Relay.Testing.Cluster;
using Relay.Testing.Processes;
using StackExchange.Redis;

namespace Relay.ClusterBench;

/// <summary>
/// The broker spike: per message, append to a session's history and publish to a room's fan-out, as a core node would;
/// a subscriber measures publish → receive. Then the read a resume needs (100 entries of one session's history).
/// Redis 7 (Streams + PUBLISH, and the same in one Lua script as core-sim's dispatch) vs NATS JetStream (stream
/// publish with ack + core publish).
/// </summary>
internal static class Spike
{
    public static async Task<string> RunAsync(int messages, int senders, CancellationToken ct)
    {
        var rows = new List<string>
        {
            $"Spike: {messages:N0} messages, {senders} concurrent senders (each awaits its message before the next, as a session's read loop does); 200-byte body.",
            string.Empty,
            "| broker | mode | msg/s | broker CPU µs/msg | client CPU µs/msg | p50 ms | p99 ms | resume read of 100 entries ms |",
            "|---|---|---|---|---|---|---|---|",
        };
        using (var redis = await RedisProcess.StartAsync(ct))
        {
            rows.Add(await RedisAsync(redis, messages, senders, script: false, ct));
            rows.Add(await RedisAsync(redis, messages, senders, script: true, ct));
        }

        rows.Add(await NatsAsync(messages, senders, ct));
        return string.Join('\n', rows);
    }

    private static string Body(int sender, long n) => $"{{\"s\":{sender},\"n\":{n},\"t\":{Stopwatch.GetTimestamp()},\"pad\":\"{new string('x', 140)}\"}}";

    private static long Sent(string payload)
    {
        int i = payload.IndexOf("\"t\":", StringComparison.Ordinal) + 4;
        int j = payload.IndexOf(',', i);
        return long.Parse(payload.AsSpan(i, j - i), CultureInfo.InvariantCulture);
    }

    private static async Task<string> RedisAsync(RedisProcess server, int messages, int senders, bool script, CancellationToken ct)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.Endpoint);
        var db = redis.GetDatabase();
        var histogram = new LongConcurrentHistogram(1, TimeStamp.Hours(1), 3);
        long received = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = RedisChannel.Literal("room:spike");
        await redis.GetSubscriber().SubscribeAsync(channel, (_, m) =>
        {
            histogram.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - Sent(m.ToString())));
            if (Interlocked.Increment(ref received) == messages)
            {
                done.TrySetResult();
            }
        });
        const string Lua = """
            local n = redis.call('HINCRBY', KEYS[1], 'out', 1)
            redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, n .. '-1', 'b', ARGV[1])
            redis.call('PUBLISH', ARGV[2], ARGV[1])
            return n
            """;
        var (cpu0, broker0, started) = (ProcCpu.Self(), ProcCpu.Of(server.Pid), Stopwatch.GetTimestamp());
        await Task.WhenAll(Enumerable.Range(0, senders).Select(s => Task.Run(async () =>
        {
            for (long n = 1; n <= messages / senders; n++)
            {
                string body = Body(s, n);
                if (script)
                {
                    await db.ScriptEvaluateAsync(Lua, [$"h:{s}", $"y:{s}"], [body, "room:spike"]);
                }
                else
                {
                    await db.StreamAddAsync($"x:{s}", "b", body, maxLength: 10_000, useApproximateMaxLength: true);
                    await db.PublishAsync(channel, body);
                }
            }
        }, ct)));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (cpu, broker) = (ProcCpu.Self() - cpu0, ProcCpu.Of(server.Pid) - broker0);
        var read = Stopwatch.StartNew();
        var entries = await db.StreamRangeAsync("x:0", "-", "+", count: 100);
        double readMs = read.Elapsed.TotalMilliseconds;
        return Row("Redis 7.0", script ? "Lua: HINCRBY + XADD + PUBLISH" : "XADD + PUBLISH", messages, seconds, broker, cpu, histogram, entries.Length == 100 ? readMs : double.NaN);
    }

    private static async Task<string> NatsAsync(int messages, int senders, CancellationToken ct)
    {
        string? binary = new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            return "| NATS | not installed (apt-get install nats-server) | | | | | | |";
        }

        int port = Ports.Free();
        string dir = TempFolders.Create("relay-nats-");
        using var server = ChildProcess.Start("nats", [binary, "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-js", "-sd", dir]);
        await server.WaitForOutputAsync("Server is ready", TimeSpan.FromSeconds(15), ct);
        await using var nats = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{port}" });
        await nats.ConnectAsync();
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(new StreamConfig("hist", ["hist.>"]) { MaxMsgsPerSubject = 10_000, Storage = StreamConfigStorage.Memory }, ct);
        var histogram = new LongConcurrentHistogram(1, TimeStamp.Hours(1), 3);
        long received = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = await nats.SubscribeCoreAsync<string>("room.spike", cancellationToken: ct);
        var reader = Task.Run(async () =>
        {
            await foreach (var m in subscription.Msgs.ReadAllAsync(ct))
            {
                histogram.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - Sent(m.Data!)));
                if (Interlocked.Increment(ref received) == messages)
                {
                    done.TrySetResult();
                    return;
                }
            }
        }, ct);
        var (cpu0, broker0, started) = (ProcCpu.Self(), ProcCpu.Of(server.Id), Stopwatch.GetTimestamp());
        await Task.WhenAll(Enumerable.Range(0, senders).Select(s => Task.Run(async () =>
        {
            for (long n = 1; n <= messages / senders; n++)
            {
                string body = Body(s, n);
                var ack = await js.PublishAsync($"hist.{s}", body, cancellationToken: ct);
                ack.EnsureSuccess();
                await nats.PublishAsync("room.spike", body, cancellationToken: ct);
            }
        }, ct)));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (cpu, broker) = (ProcCpu.Self() - cpu0, ProcCpu.Of(server.Id) - broker0);
        var read = Stopwatch.StartNew();
        var consumer = await js.CreateOrderedConsumerAsync("hist", new NatsJSOrderedConsumerOpts { FilterSubjects = ["hist.0"], DeliverPolicy = ConsumerConfigDeliverPolicy.All }, ct);
        int got = 0;
        await foreach (var m in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 100 }, cancellationToken: ct))
        {
            got++;
        }

        double readMs = read.Elapsed.TotalMilliseconds;
        await subscription.UnsubscribeAsync();
        return Row("NATS 2.9 JetStream", "JS publish (ack) + core publish", messages, seconds, broker, cpu, histogram, got == 100 ? readMs : double.NaN);
    }

    private static string Row(string broker, string mode, int messages, double seconds, TimeSpan brokerCpu, TimeSpan clientCpu, LongConcurrentHistogram h, double readMs)
    {
        double Ms(double p) => h.GetValueAtPercentile(p) * 1000.0 / Stopwatch.Frequency;
        return string.Create(CultureInfo.InvariantCulture,
            $"| {broker} | {mode} | {messages / seconds:N0} | {brokerCpu.TotalMicroseconds / messages:F1} | {clientCpu.TotalMicroseconds / messages:F1} | {Ms(50):F2} | {Ms(99):F2} | {readMs:F2} |");
    }
}
