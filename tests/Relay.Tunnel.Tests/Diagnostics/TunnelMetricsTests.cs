using System.Diagnostics.Metrics;
using Relay.Tunnel.Tests.Links;

namespace Relay.Tunnel.Tests.Diagnostics;

[NonParallelizable]
public class TunnelMetricsTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Counters_PoolAndListenerInOneProcess_EachCountTheirOwnSide(CancellationToken token)
    {
        await using var backhaul = await Backhaul.StartAsync(links: 2);
        var stream = backhaul.Pool.OpenStream(Backhaul.Info("counted"));
        await stream.SendAsync("ping"u8.ToArray(), isText: true, token);
        using (await stream.ReceiveAsync(token))
        {
        }

        // The pool counts a link up at its READY, the listener once it has flushed that READY: bounded wait for it.
        for (int i = 0; i < 200 && backhaul.Listener.Counters.LinksUp < 2; i++)
        {
            await Task.Delay(10, token);
        }

        var pool = backhaul.Pool.Counters;
        var listener = backhaul.Listener.Counters;
        Assert.That((pool.LinksUp, pool.Streams), Is.EqualTo((2L, 1L)), "the pool's own links and stream");
        Assert.That((listener.LinksUp, listener.Streams), Is.EqualTo((2L, 1L)), "the listener's own, not the sum of both ends");
        Assert.That(pool.Flushes, Is.GreaterThan(0).And.LessThanOrEqualTo(pool.FramesSent));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Meter_FromTheGivenFactory_ObservesThatPoolOnly(CancellationToken token)
    {
        using var meters = new TestMeterFactory();
        await using var backhaul = await Backhaul.StartAsync(links: 3, poolMeters: meters);
        var stream = backhaul.Pool.OpenStream(Backhaul.Info("observed"));
        await stream.SendAsync("ping"u8.ToArray(), isText: true, token);
        using (await stream.ReceiveAsync(token))
        {
        }

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen[instrument.Name] = seen.GetValueOrDefault(instrument.Name) + value);
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.That(meters.Created.Select(m => m.Name), Is.EqualTo(new[] { "Relay.Tunnel" }));
        Assert.That((seen["relay.backhaul.links_up"], seen["relay.backhaul.streams"]), Is.EqualTo((3L, 1L)), "this pool's links and stream, not the listener's");
        Assert.That(seen["relay.backhaul.frames_sent"], Is.EqualTo(backhaul.Pool.Counters.FramesSent));
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        public List<Meter> Created { get; } = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Scope = this });
            Created.Add(meter);
            return meter;
        }

        public void Dispose() => Created.ForEach(m => m.Dispose());
    }
}
