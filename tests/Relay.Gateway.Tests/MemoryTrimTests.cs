using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Configuration;
using Relay.Gateway.Hosting;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Tests;

/// <summary>The idle memory trim: one aggressive GC once the process goes quiet after a burst, none while it is busy.</summary>
[NonParallelizable]
public class MemoryTrimTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task QuietAfterABurst_Trims_ButNotWhileBusy_AndShowsInMetrics(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.IdleMemoryTrimAfter = TimeSpan.FromSeconds(1));
        var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
        long trimsAtStart = metrics.MemoryTrims;

        // Busy: 96 MB of garbage (over the trim's 64 MB threshold), 512 KiB per ~10 ms (well over 4 MB/s). No trim
        // while it lasts. Bounded by count, not by the clock: a busy machine makes the burst longer, never smaller.
        var held = new List<byte[]>();
        for (int i = 0; i < 192; i++)
        {
            held.Add(new byte[512 * 1024]); // held for a moment so the allocation is real
            if (held.Count > 8)
            {
                held.Clear();
            }

            await Task.Delay(10, token);
        }

        held.Clear();

        Assert.That(metrics.MemoryTrims, Is.EqualTo(trimsAtStart), "no trim while the process allocates");

        // Quiet: a trim follows (one per burst: AfterATrim_TheNextOneWaitsForANewBurst).
        while (metrics.MemoryTrims == trimsAtStart)
        {
            await Task.Delay(100, token);
        }

        long trims = metrics.MemoryTrims;
        using var http = new HttpClient();
        var scraped = await PrometheusScrape.GetAsync(http, gw.HttpUrl, token);
        Assert.That(scraped["relay_gateway_memory_trims_total"], Is.EqualTo(trims));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AfterATrim_TheNextOneWaitsForANewBurst(CancellationToken token)
    {
        // The service alone on a fake clock: it samples every 500 ms; a burst is 80 MB of garbage over 5 s.
        var (time, metrics, options, service) = await StartOnFakeClockAsync(minChurnBytes: null, token);
        using var _ = service;
        var sample = TimeSpan.FromMilliseconds(500);

        for (int burst = 1; burst <= 2; burst++)
        {
            for (int i = 0; i < 10; i++)
            {
                GC.KeepAlive(new byte[8 * 1024 * 1024]); // 16 MB/s: four times the quiet bound
                time.Advance(sample);
                await Task.Delay(1, token); // the service takes its sample on its own thread
            }

            Assert.That(metrics.MemoryTrims, Is.EqualTo(burst - 1), "no trim while the process allocates");

            // Quiet for longer than IdleMemoryTrimAfter: this burst's trim, and only after the quiet time.
            var quiet = TimeSpan.Zero;
            while (metrics.MemoryTrims < burst)
            {
                time.Advance(sample);
                quiet += sample;
                await Task.Delay(1, token);
            }

            Assert.That(quiet, Is.GreaterThanOrEqualTo(options.Value.IdleMemoryTrimAfter));
            Assert.That(metrics.MemoryTrims, Is.EqualTo(burst), "one trim per burst");
        }

        await service.StopAsync(token);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WhileMessagesFlow_NoTrim_ThenOneOnceTheyStop(CancellationToken token)
    {
        // The service alone on a fake clock (no machine's message rate in the test): IdleMemoryTrimAfter 1 s, so it
        // samples every 500 ms; any churn is worth a trim here.
        var (time, metrics, options, service) = await StartOnFakeClockAsync(minChurnBytes: 1, token);
        using var _ = service;
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

    [Test]
    [CancelAfter(30_000)]
    public async Task IdleSessionsPinging_CountAsQuiet_ButTheSameSessionsChatting_DoNot(CancellationToken token)
    {
        // Before: 10,000 idle sessions whose clients ping after 5 s of silence relay 4,000 messages/s (ping and pong), over
        // the 1,000/s quiet bound, so a relay holding idle sessions never trimmed the memory their connect burst left.
        var (time, metrics, options, service) = await StartOnFakeClockAsync(minChurnBytes: 1, token);
        using var _ = service;
        var sample = TimeSpan.FromMilliseconds(500);
        const int sessions = 10_000;
        for (int i = 0; i < sessions; i++)
        {
            metrics.SessionOpened(); // the burst: its opens are busy ticks
        }

        // Chatting: one message per session per second each way (20,000/s). Not quiet, however long it lasts.
        for (int i = 0; i < 20; i++)
        {
            Relay(metrics, sessions / 2); // 5,000 in and 5,000 out per 500 ms
            time.Advance(sample);
            await Task.Delay(1, token);
        }

        Assert.That(metrics.MemoryTrims, Is.Zero, "no trim while the sessions talk");

        // Idle: each session's ping every 5 s and its pong, 0.4 messages/s per session (2,000 per 500 ms in all).
        var quiet = TimeSpan.Zero;
        while (metrics.MemoryTrims == 0)
        {
            Relay(metrics, sessions / 10);
            time.Advance(sample);
            quiet += sample;
            await Task.Delay(1, token);
            Assert.That(quiet, Is.LessThan(TimeSpan.FromSeconds(30)), "idle sessions' liveness kept the relay busy: no trim");
        }

        Assert.That(quiet, Is.GreaterThanOrEqualTo(options.Value.IdleMemoryTrimAfter));
        await service.StopAsync(token);

        static void Relay(GatewayMetrics metrics, int each)
        {
            for (int m = 0; m < each; m++)
            {
                metrics.MessageIn(16);
                metrics.MessageOut(16);
            }
        }
    }

    /// <summary>The service alone on a fake clock, IdleMemoryTrimAfter 1 s (it samples every 500 ms), started.</summary>
    private static async Task<(FakeTimeProvider Time, GatewayMetrics Metrics, IOptions<GatewayOptions> Options, MemoryTrimService Service)> StartOnFakeClockAsync(long? minChurnBytes, CancellationToken token)
    {
        var time = new FakeTimeProvider();
        var metrics = new GatewayMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var options = Options.Create(new GatewayOptions { IdleMemoryTrimAfter = TimeSpan.FromSeconds(1) });
        var service = new MemoryTrimService(options, metrics, time, NullLogger<MemoryTrimService>.Instance);
        if (minChurnBytes is { } churn)
        {
            service.MinChurnBytes = churn;
        }

        await service.StartAsync(token);
        return (time, metrics, options, service);
    }
}
