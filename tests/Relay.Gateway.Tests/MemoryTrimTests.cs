using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Hosting;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Tests;

/// <summary>The idle memory trim: one aggressive GC once the process goes quiet after a burst, none while it is busy.</summary>
[NonParallelizable]
public class MemoryTrimTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task QuietAfterABurst_TrimsOnce_ButNotWhileBusy(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.IdleMemoryTrimAfter = TimeSpan.FromSeconds(1));
        var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
        long trimsAtStart = metrics.MemoryTrims;

        // Busy: allocating well over 4 MB/s for 3 s (~40 MB/s) (the burst). No trim while it lasts.
        var until = DateTime.UtcNow.AddSeconds(3);
        long sink = 0;
        var held = new List<byte[]>();
        while (DateTime.UtcNow < until)
        {
            held.Add(new byte[512 * 1024]); // garbage, ~40 MB/s (held for a moment so the allocation is real)
            sink += held[^1].Length;
            if (held.Count > 8)
            {
                held.Clear();
            }

            await Task.Delay(10, token);
        }

        held.Clear();
        Assert.That(sink, Is.GreaterThan(64L * 1024 * 1024), "the burst is bigger than the trim's 64 MB threshold");

        Assert.That(metrics.MemoryTrims, Is.EqualTo(trimsAtStart), "no trim while the process allocates");

        // Quiet: a trim follows within a few seconds, and only one.
        while (metrics.MemoryTrims == trimsAtStart)
        {
            await Task.Delay(100, token);
        }

        await Task.Delay(3000, token);
        Assert.That(metrics.MemoryTrims, Is.EqualTo(trimsAtStart + 1), $"one trim per burst ({sink} bytes of garbage)");
        using var http = new HttpClient();
        Assert.That(await http.GetStringAsync(gw.HttpUrl + "/metrics", token), Does.Contain($"relay_gateway_memory_trims_total {trimsAtStart + 1}"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WhileMessagesFlow_NoTrim_ThenOneOnceTheyStop(CancellationToken token)
    {
        // The service alone on a fake clock (no machine's message rate in the test): IdleMemoryTrimAfter 1 s, so it
        // samples every 500 ms; any churn is worth a trim here.
        var time = new FakeTimeProvider();
        var metrics = new GatewayMetrics();
        var options = Options.Create(new GatewayOptions { IdleMemoryTrimAfter = TimeSpan.FromSeconds(1) });
        using var service = new MemoryTrimService(options, metrics, time, NullLogger<MemoryTrimService>.Instance) { MinChurnBytes = 1 };
        await service.StartAsync(token);
        var sample = TimeSpan.FromMilliseconds(500);

        // Busy: 2,000 messages/s relayed (twice the quiet bound) for 10 s of the service's time.
        for (int i = 0; i < 20; i++)
        {
            for (int m = 0; m < 1000; m++)
            {
                metrics.MessageIn(16);
            }

            time.Advance(sample);
            await Task.Delay(1, token); // the service takes its sample on its own thread
        }

        Assert.That(metrics.MemoryTrims, Is.Zero, "no trim while messages flow");

        // Idle: the trim follows once the service has seen IdleMemoryTrimAfter of quiet after the messages, not before.
        var quiet = TimeSpan.Zero;
        while (metrics.MemoryTrims == 0)
        {
            time.Advance(sample);
            quiet += sample;
            await Task.Delay(1, token);
        }

        Assert.That(quiet, Is.GreaterThanOrEqualTo(options.Value.IdleMemoryTrimAfter), "the messages kept the process busy: quiet started when they stopped");
        await service.StopAsync(token);
    }
}
