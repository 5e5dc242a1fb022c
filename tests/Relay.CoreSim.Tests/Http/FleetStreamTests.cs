using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Relay.CoreSim.Http;

namespace Relay.CoreSim.Tests.Http;

/// <summary>
/// GET /v1/fleet/stream (the dashboard's server-sent events) is anonymous, as GET /fleet is. A review found it uncapped,
/// and each stream rendered the whole fleet view (in cluster mode a broker round trip) every 500 ms for itself: a few
/// thousand anonymous streams made the core render thousands of views a second.
/// </summary>
public class FleetStreamTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task StreamsBeyondTheCap_Get503_AndAFreedPlaceServesAgain(CancellationToken token)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.FleetStreamMaxClients = 2);
        using var http = new HttpClient { BaseAddress = host.HttpUri };
        var first = await OpenAsync(http, token);
        using var second = await OpenAsync(http, token);
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await FirstEventAsync(second, token), Does.StartWith("event: fleet"), "a stream within the cap gets the fleet view");

        using (var third = await OpenAsync(http, token))
        {
            Assert.That(third.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "the third stream of a cap of two");
            Assert.That(third.Headers.RetryAfter, Is.Not.Null, "EventSource and operators are told when to come back");
            Assert.That(await third.Content.ReadAsStringAsync(token), Does.Contain("fleet streams"));
        }

        // The first stream's client goes; its place is free once core-sim sees the connection end.
        first.Dispose();
        HttpStatusCode status = HttpStatusCode.ServiceUnavailable;
        for (int attempt = 0; attempt < 100 && status != HttpStatusCode.OK; attempt++)
        {
            using var again = await OpenAsync(http, token);
            status = again.StatusCode;
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(50, token);
            }
        }

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), "a freed place serves a new stream");
    }

    [Test]
    public async Task ManyStreamsInOneInterval_RenderTheFleetViewOnce()
    {
        var time = new FakeTimeProvider();
        var snapshots = new FleetSnapshots(time);
        int renders = 0;
        Task<string> Render(CancellationToken ct) => Task.FromResult($"{{\"n\":{++renders}}}");

        var views = new List<string>();
        for (int i = 0; i < 100; i++)
        {
            views.Add(await snapshots.GetAsync(Render, CancellationToken.None));
        }

        Assert.That(renders, Is.EqualTo(1), "a hundred streams within one interval share one rendering");
        Assert.That(views.Distinct(), Is.EquivalentTo(new[] { "{\"n\":1}" }));

        time.Advance(FleetSnapshots.Fresh);
        Assert.That(await snapshots.GetAsync(Render, CancellationToken.None), Is.EqualTo("{\"n\":2}"), "a stale view is rendered again");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ConcurrentFleetGets_ShareRenderings_AndEachSeesWhatHappenedBeforeIt(CancellationToken token)
    {
        // A review found GET /fleet (anonymous) rendering the whole fleet view for each request, while the streams already
        // shared one rendering: a flood of GETs did what the cap on streams prevents. Concurrent GETs now share one
        // rendering, one at a time, each of which started after the request arrived (a GET never sees an older view).
        await using var host = await CoreSimFixture.StartAsync();
        var view = host.Services.GetRequiredService<FleetView>();
        using var http = new HttpClient { BaseAddress = host.HttpUri };
        (await http.GetAsync("/fleet", token)).EnsureSuccessStatusCode(); // warm: connection, JIT
        long before = view.Renders;

        const int Gets = 64;
        var gets = Enumerable.Range(0, Gets).Select(_ => http.GetStringAsync("/fleet", token)).ToArray();
        var documents = await Task.WhenAll(gets);
        long renders = view.Renders - before;

        Assert.That(documents.All(d => d.Contains("\"relays\"", StringComparison.Ordinal)), Is.True, "each GET gets the fleet view");
        Assert.That(renders, Is.LessThan(Gets / 4), $"{Gets} concurrent GETs rendered {renders} views");

        // Read your writes: a negotiate decision made before a GET is in the view that GET answers.
        for (int i = 0; i < 3; i++)
        {
            (await http.GetAsync($"/v1/negotiate?region=r{i}", token)).EnsureSuccessStatusCode();
            var fleet = await CoreSimFixture.GetAsync(host, "/fleet");
            Assert.That(fleet.GetProperty("steering")[0].GetProperty("region").GetString(), Is.EqualTo($"r{i}"));
        }
    }

    private static Task<HttpResponseMessage> OpenAsync(HttpClient http, CancellationToken token) =>
        http.GetAsync("/v1/fleet/stream", HttpCompletionOption.ResponseHeadersRead, token);

    private static async Task<string> FirstEventAsync(HttpResponseMessage response, CancellationToken token)
    {
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(token)); // not disposed: that would end the stream
        while (await reader.ReadLineAsync(token) is { } line)
        {
            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                return line;
            }
        }

        return string.Empty;
    }
}
