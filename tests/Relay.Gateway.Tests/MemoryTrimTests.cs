using Microsoft.Extensions.DependencyInjection;
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
        var scraped = await PrometheusScrape.GetAsync(http, gw.HttpUrl, token);
        Assert.That(scraped["relay_gateway_memory_trims_total"], Is.EqualTo(trimsAtStart + 1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WhileMessagesFlow_NoTrim_ThenOneOnceTheyStop(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o =>
        {
            o.IdleMemoryTrimAfter = TimeSpan.FromSeconds(1);
            o.MessagesPerSecond = 100_000;
            o.MessageBurst = 100_000;
        });
        var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
        gw.App.Services.GetRequiredService<Relay.Gateway.Hosting.MemoryTrimService>().MinChurnBytes = 1; // any churn is enough here
        await Task.Delay(2500, token); // start-up's trim, if any
        long trimsAtStart = metrics.MemoryTrims;

        // Over 1,000 messages/s relayed for 4 s (small echoes, little allocation): busy, so no trim.
        using var ws = await gw.ConnectAsync(ct: token);
        var payload = new byte[16];
        long sent = 0;
        var until = DateTime.UtcNow.AddSeconds(4);
        while (DateTime.UtcNow < until)
        {
            await ws.SendAsync(payload, System.Net.WebSockets.WebSocketMessageType.Binary, true, token);
            await GatewayFixture.ReceiveAsync(ws, token);
            sent++;
        }

        Assert.That(sent, Is.GreaterThan(4 * 1000 / 2), "at least 1,000 messages/s both ways");
        Assert.That(metrics.MemoryTrims, Is.EqualTo(trimsAtStart), "no trim while messages flow");

        // Idle: a trim follows.
        while (metrics.MemoryTrims == trimsAtStart)
        {
            await Task.Delay(100, token);
        }
    }
}
