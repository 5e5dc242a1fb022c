using System.Net;
using System.Text.Json;
using Relay.Gateway.EdgeHttp.Cache;

namespace Relay.Gateway.Tests.EdgeHttp.Cache;

/// <summary>
/// The edge cache (issue 18) in a real Kestrel front host with YARP forwarding to a real origin over loopback: each
/// rule kind, Cache-Status, 304 at the edge, coalescing, purge, stale-if-error, the size bound and the metrics.
/// </summary>
[NonParallelizable]
public class EdgeCacheTests
{
    private static readonly Dictionary<string, string?> s_settings = new()
    {
        ["Gateway:EdgeHttp:Cache:SizeLimitBytes"] = "65536",
        ["Gateway:EdgeHttp:Cache:MaximumBodyBytes"] = "16384",
        ["Gateway:EdgeHttp:Cache:Rules:0:Path"] = "/ttl/**",
        ["Gateway:EdgeHttp:Cache:Rules:0:EdgeTtlSeconds"] = "10",
        ["Gateway:EdgeHttp:Cache:Rules:0:StaleIfErrorSeconds"] = "60",
        ["Gateway:EdgeHttp:Cache:Rules:0:BrowserTtlSeconds"] = "120",
        ["Gateway:EdgeHttp:Cache:Rules:1:Path"] = "/q/**",
        ["Gateway:EdgeHttp:Cache:Rules:1:IgnoreQueryString"] = "true",
        ["Gateway:EdgeHttp:Cache:Rules:2:Path"] = "/vary/**",
        ["Gateway:EdgeHttp:Cache:Rules:2:VaryByHeader"] = "Accept-Language",
        ["Gateway:EdgeHttp:Cache:Rules:3:Path"] = "/tagged/**",
        ["Gateway:EdgeHttp:Cache:Rules:3:Tags:0"] = "assets-v1",
        ["Gateway:EdgeHttp:Cache:Rules:4:Path"] = "/{big,cookie,slow}/**",
        ["Gateway:EdgeHttp:Cache:Rules:5:Host"] = "other.example",
        ["Gateway:EdgeHttp:Cache:Rules:5:Path"] = "/**",
        ["Gateway:EdgeHttp:Cache:Rules:5:Action"] = "Bypass",
    };

    private EdgeCacheFront _front = null!;

    [SetUp]
    public async Task SetUp() => _front = await EdgeCacheFront.StartAsync(s_settings);

    [TearDown]
    public async Task TearDown() => await _front.DisposeAsync();

    [Test]
    public async Task CacheRule_SecondRequest_IsAHitAtTheEdge_OriginAskedOnce()
    {
        var first = await _front.GetAsync("/assets/app.js");
        var second = await _front.GetAsync("/assets/app.js");

        Assert.Multiple(() =>
        {
            Assert.That(first.CacheStatus, Is.EqualTo("Relay; fwd=uri-miss; fwd-status=200; stored"));
            Assert.That(second.CacheStatus, Does.StartWith("Relay; hit; ttl="));
            Assert.That(second.Body, Is.EqualTo(first.Body).And.EqualTo("asset /assets/app.js v1"));
            Assert.That(second.CacheControl, Is.EqualTo("public, max-age=60"), "no browser TTL in the rule: the origin's Cache-Control");
            Assert.That(_front.Origin.Hits("/assets/app.js"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task ResponseCutMidBody_IsNotStored_TheNextRequestAsksTheOriginAgain()
    {
        // A review found a cut response (no Content-Length, the body stopping halfway) stored as a whole one and served
        // to everyone for the edge TTL.
        for (int i = 0; i < 2; i++)
        {
            try
            {
                var cut = await _front.GetAsync("/cut/app.js");
                Assert.That(cut.CacheStatus, Does.Not.StartWith("Relay; hit"), "served from the cache: " + cut.Body);
            }
            catch (HttpRequestException)
            {
                // the client sees the cut: its connection was aborted
            }
        }

        Assert.That(_front.Origin.Hits("/cut/app.js"), Is.EqualTo(2), "the cut copy was not stored");
    }

    [Test]
    public async Task StaticExtensionDefaultRule_CachesOutsideAssets()
    {
        await _front.GetAsync("/widget/chat.css");
        var second = await _front.GetAsync("/widget/chat.css");

        Assert.That(second.CacheStatus, Does.StartWith("Relay; hit"));
        Assert.That(_front.Origin.Hits("/widget/chat.css"), Is.EqualTo(1));
    }

    [TestCase("/api/history")]
    [TestCase("/page.html")]
    public async Task BypassedRequests_AlwaysReachTheOrigin(string path)
    {
        var first = await _front.GetAsync(path);
        var second = await _front.GetAsync(path);

        Assert.Multiple(() =>
        {
            Assert.That(first.CacheStatus, Is.EqualTo("Relay; fwd=bypass"));
            Assert.That(second.CacheStatus, Is.EqualTo("Relay; fwd=bypass"));
            Assert.That(_front.Origin.Hits(path), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task HostRule_BypassesItsHostOnly()
    {
        await _front.GetAsync("/assets/h.js", r => r.Headers.Host = "other.example");
        var other = await _front.GetAsync("/assets/h.js", r => r.Headers.Host = "other.example");

        Assert.That(other.CacheStatus, Is.EqualTo("Relay; fwd=bypass"));
        Assert.That(_front.Origin.Hits("/assets/h.js"), Is.EqualTo(2));
    }

    [Test]
    public async Task PostAndAuthorization_AreNotCached()
    {
        using var post = await _front.Client.PostAsync(_front.Url + "/assets/app.js", new StringContent("x"));
        var authorized = await _front.GetAsync("/assets/app.js", r => r.Headers.Authorization = new("Bearer", "t"));

        Assert.That(post.Headers.GetValues("Cache-Status").Single(), Is.EqualTo("Relay; fwd=method"));
        Assert.That(authorized.CacheStatus, Is.EqualTo("Relay; fwd=request"));
    }

    [Test]
    public async Task EdgeTtl_ExpiresOnTheFakeClock_ThenTheOriginIsAskedAgain()
    {
        await _front.GetAsync("/ttl/a.js");
        _front.Time.Advance(TimeSpan.FromSeconds(9));
        var fresh = await _front.GetAsync("/ttl/a.js");
        _front.Origin.Version = 2;
        _front.Time.Advance(TimeSpan.FromSeconds(2));
        var expired = await _front.GetAsync("/ttl/a.js");

        Assert.Multiple(() =>
        {
            Assert.That(fresh.CacheStatus, Is.EqualTo("Relay; hit; ttl=1"));
            Assert.That(expired.CacheStatus, Is.EqualTo("Relay; fwd=stale; fwd-status=200; stored"), "past its TTL, within its stale window: forwarded as stale");
            Assert.That(expired.Body, Does.EndWith("v2"));
            Assert.That(_front.Origin.Hits("/ttl/a.js"), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task BrowserTtl_RewritesCacheControl_OnMissAndHit()
    {
        var miss = await _front.GetAsync("/ttl/b.js");
        var hit = await _front.GetAsync("/ttl/b.js");

        Assert.That(miss.CacheControl, Is.EqualTo("public, max-age=120"));
        Assert.That(hit.CacheControl, Is.EqualTo("public, max-age=120"));
    }

    [Test]
    public async Task IgnoreQueryString_OneEntryForEveryQuery_OtherwiseOnePerQuery()
    {
        await _front.GetAsync("/q/app.js?v=1");
        var ignored = await _front.GetAsync("/q/app.js?v=2");
        await _front.GetAsync("/assets/q.js?v=1");
        var kept = await _front.GetAsync("/assets/q.js?v=2");

        Assert.Multiple(() =>
        {
            Assert.That(ignored.CacheStatus, Does.StartWith("Relay; hit"));
            Assert.That(ignored.Body, Is.EqualTo("asset /q/app.js?v=1 v1"));
            Assert.That(kept.CacheStatus, Does.StartWith("Relay; fwd=uri-miss"));
            Assert.That(_front.Origin.Hits("/assets/q.js"), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task VaryByHeader_OneEntryPerValue()
    {
        var en = await _front.GetAsync("/vary/x", r => r.Headers.Add("Accept-Language", "en"));
        var enAgain = await _front.GetAsync("/vary/x", r => r.Headers.Add("Accept-Language", "en"));
        var fr = await _front.GetAsync("/vary/x", r => r.Headers.Add("Accept-Language", "fr"));

        Assert.Multiple(() =>
        {
            Assert.That(enAgain.CacheStatus, Does.StartWith("Relay; hit"));
            Assert.That(enAgain.Body, Is.EqualTo("lang=en"));
            Assert.That(fr.CacheStatus, Does.StartWith("Relay; fwd=uri-miss"));
            Assert.That(fr.Body, Is.EqualTo("lang=fr"));
            Assert.That(_front.Origin.Hits("/vary/x"), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task AcceptEncoding_IsAlwaysPartOfTheKey()
    {
        await _front.GetAsync("/assets/enc.js", r => r.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip"));
        var gzipAgain = await _front.GetAsync("/assets/enc.js", r => r.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip"));
        var identity = await _front.GetAsync("/assets/enc.js");

        Assert.That(gzipAgain.CacheStatus, Does.StartWith("Relay; hit"));
        Assert.That(identity.CacheStatus, Does.StartWith("Relay; fwd=uri-miss"), "a client that did not offer gzip never gets what one that did was given");
    }

    [Test]
    public async Task IfNoneMatch_MatchingTheStoredETag_Is304FromTheEdge()
    {
        var first = await _front.GetAsync("/assets/etag.js", r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"v1\""));
        var conditional = await _front.GetAsync("/assets/etag.js", r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"v1\""));
        var other = await _front.GetAsync("/assets/etag.js", r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"v0\""));

        Assert.Multiple(() =>
        {
            Assert.That(first.Status, Is.EqualTo(HttpStatusCode.OK), "a cold edge asks the origin for the full response, to store it");
            Assert.That(conditional.Status, Is.EqualTo(HttpStatusCode.NotModified));
            Assert.That(conditional.CacheStatus, Does.StartWith("Relay; hit"));
            Assert.That(other.Status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(other.CacheStatus, Does.StartWith("Relay; hit"));
            Assert.That(_front.Origin.Hits("/assets/etag.js"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task AThousandConcurrentRequests_ForOneColdAsset_AreOneOriginRequest()
    {
        const int Requests = 1000;
        _front.Origin.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var all = Enumerable.Range(0, Requests).Select(_ => _front.GetAsync("/assets/cold.js")).ToArray();
        for (int i = 0; i < 600 && _front.Arrived < Requests; i++)
        {
            await Task.Delay(100); // bounded: at most 60 s for the requests to reach the front host
        }

        Assert.That(_front.Arrived, Is.EqualTo(Requests), "every request is at the edge before the origin answers");
        _front.Origin.Gate.SetResult();
        var answers = await Task.WhenAll(all);

        Assert.Multiple(() =>
        {
            Assert.That(_front.Origin.Hits("/assets/cold.js"), Is.EqualTo(1));
            Assert.That(answers.Select(a => a.Status), Is.All.EqualTo(HttpStatusCode.OK));
            Assert.That(answers.Select(a => a.Body), Is.All.EqualTo("asset /assets/cold.js v1"));
            Assert.That(answers.Count(a => a.CacheStatus.Contains("stored", StringComparison.Ordinal)), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task AFillPastItsDeadline_HoldsTheRequestsOfThatDeadlineOnly()
    {
        // The origin holds every asset request: the first request's fill never ends while the gate is shut (a first
        // client that reads slowly holds its fill the same way). LockTimeoutMilliseconds is the default, 2 s.
        const string Path = "/assets/held.js";
        _front.Origin.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = _front.GetAsync(Path);
        await UntilAsync(() => _front.Origin.Hits(Path) == 1);
        var second = _front.GetAsync(Path); // waits for the first one's fill
        for (int i = 0; i < 100 && _front.Origin.Hits(Path) < 2; i++)
        {
            _front.Time.Advance(TimeSpan.FromSeconds(2)); // the deadline (again, if its wait started after the last step)
            await Task.Delay(50);
        }

        int afterDeadline = _front.Origin.Hits(Path);
        var third = _front.GetAsync(Path); // the clock stands still: this one must not wait for the first fill
        await UntilAsync(() => _front.Origin.Hits(Path) == 3);
        int thirdHits = _front.Origin.Hits(Path);
        _front.Origin.Gate.SetResult();
        var answers = await Task.WhenAll(first, second, third);

        Assert.Multiple(() =>
        {
            Assert.That(afterDeadline, Is.EqualTo(2), "past the deadline the waiting request goes to the origin itself");
            Assert.That(thirdHits, Is.EqualTo(3), "a request after that deadline leads a new fill instead of waiting for the held one");
            Assert.That(answers.Select(a => a.Body), Is.All.EqualTo("asset /assets/held.js v1"));
        });
    }

    [Test]
    public async Task OneWaitersDeadline_DoesNotReleaseWaitersThatStillHaveTime()
    {
        // A first download that takes a little over the deadline: the request that waited from the start gives up and goes
        // to the origin; those that came 1.5 s later still have 0.5 s and wait on (a review found them all released at
        // once, to the origin, by the first one's deadline).
        const string Path = "/assets/slowfill.js";
        _front.Origin.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = _front.GetAsync(Path);
        await UntilAsync(() => _front.Origin.Hits(Path) == 1);
        var early = _front.GetAsync(Path);
        await UntilAsync(() => _front.Arrived == 2);
        await Task.Delay(300); // its wait has begun (no clock step yet)
        _front.Time.Advance(TimeSpan.FromSeconds(1.5));
        var late = Enumerable.Range(0, 20).Select(_ => _front.GetAsync(Path)).ToArray();
        await UntilAsync(() => _front.Arrived == 22);
        await Task.Delay(300); // their waits have begun
        _front.Time.Advance(TimeSpan.FromSeconds(0.6)); // the early one's deadline, not theirs
        await UntilAsync(() => _front.Origin.Hits(Path) >= 2);
        await Task.Delay(300); // anything released with it would reach the origin now
        int hits = _front.Origin.Hits(Path);
        _front.Origin.Gate.SetResult();
        var answers = await Task.WhenAll([first, early, .. late]);

        Assert.Multiple(() =>
        {
            Assert.That(hits, Is.EqualTo(2), "only the request past its deadline went to the origin");
            Assert.That(answers.Select(a => a.Body), Is.All.EqualTo("asset /assets/slowfill.js v1"));
        });
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25); // bounded: at most 5 s
        }
    }

    [Test]
    public async Task PurgeByPrefix_ThroughTheAdminApi_EvictsThatFolderOnly()
    {
        await _front.GetAsync("/assets/a/1.js");
        await _front.GetAsync("/assets/a/deep/2.js");
        await _front.GetAsync("/assets/b/3.js");

        using var refused = await _front.PurgeAsync("prefix=/assets/a", key: "wrong");
        using var purge = await _front.PurgeAsync("prefix=/assets/a");
        using var body = JsonDocument.Parse(await purge.Content.ReadAsStringAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(purge.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body.RootElement.GetProperty("purged").GetInt32(), Is.EqualTo(2));
            Assert.That((await _front.GetAsync("/assets/a/1.js")).CacheStatus, Does.StartWith("Relay; fwd=uri-miss"));
            Assert.That((await _front.GetAsync("/assets/a/deep/2.js")).CacheStatus, Does.StartWith("Relay; fwd=uri-miss"));
            Assert.That((await _front.GetAsync("/assets/b/3.js")).CacheStatus, Does.StartWith("Relay; hit"));
        });
    }

    [Test]
    public async Task PurgeByTag_RuleTagAndOriginCacheTag_EvictTaggedEntries_CacheTagHiddenFromClients()
    {
        var first = await _front.GetAsync("/tagged/w.js");
        await _front.GetAsync("/assets/untagged.js");

        using var byOriginTag = await _front.PurgeAsync("tag=widget");
        await _front.GetAsync("/tagged/w.js");
        using var byRuleTag = await _front.PurgeAsync("tag=assets-v1");
        using var bad = await _front.PurgeAsync("prefix=assets");

        Assert.Multiple(async () =>
        {
            Assert.That(first.HasCacheTag, Is.False, "the origin's Cache-Tag header is the edge's, not the client's");
            Assert.That(JsonDocument.Parse(await byOriginTag.Content.ReadAsStringAsync()).RootElement.GetProperty("purged").GetInt32(), Is.EqualTo(1));
            Assert.That(JsonDocument.Parse(await byRuleTag.Content.ReadAsStringAsync()).RootElement.GetProperty("purged").GetInt32(), Is.EqualTo(1));
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await _front.GetAsync("/assets/untagged.js")).CacheStatus, Does.StartWith("Relay; hit"));
        });
    }

    [Test]
    public async Task OriginFailing_PastTtl_ServesStale_UntilTheStaleWindowEnds()
    {
        await _front.GetAsync("/ttl/s.js");
        _front.Time.Advance(TimeSpan.FromSeconds(30));
        _front.Origin.FailWith = 503;

        var stale = await _front.GetAsync("/ttl/s.js");
        var staleConditional = await _front.GetAsync("/ttl/s.js", r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"v1\""));
        _front.Time.Advance(TimeSpan.FromSeconds(41)); // 71 s: past 10 s TTL + 60 s stale window
        var gone = await _front.GetAsync("/ttl/s.js");

        Assert.Multiple(() =>
        {
            Assert.That(stale.Status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(stale.Body, Is.EqualTo("asset /ttl/s.js v1"));
            Assert.That(stale.CacheStatus, Is.EqualTo("Relay; fwd=stale; fwd-status=503; ttl=-20; detail=stale-if-error"));
            Assert.That(staleConditional.Status, Is.EqualTo(HttpStatusCode.NotModified));
            Assert.That(gone.Status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(gone.CacheStatus, Is.EqualTo("Relay; fwd=uri-miss; fwd-status=503"));
        });
    }

    [Test]
    public async Task OriginDown_ConnectionRefused_ServesStaleAsset()
    {
        await _front.GetAsync("/assets/down.js");
        _front.Time.Advance(TimeSpan.FromHours(2)); // past the default rule's 1 h, within its 1 day stale window
        await _front.Origin.StopAsync();

        var stale = await _front.GetAsync("/assets/down.js");
        var cold = await _front.GetAsync("/assets/never.js");

        Assert.Multiple(() =>
        {
            Assert.That(stale.Status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(stale.Body, Is.EqualTo("asset /assets/down.js v1"));
            Assert.That(stale.CacheStatus, Does.StartWith("Relay; fwd=stale; fwd-status=502; ttl=-3600"));
            Assert.That(cold.Status, Is.EqualTo(HttpStatusCode.BadGateway), "nothing stored: the proxy's error");
        });
    }

    [Test]
    public async Task SizeBound_BodyOverMaximum_IsNotStored_AndTheStoreStaysWithinItsLimit()
    {
        var big = await _front.GetAsync("/big/20000");
        for (int i = 0; i < 10; i++)
        {
            await _front.GetAsync($"/big/{10000 + i}");
        }

        var firstAgain = await _front.GetAsync("/big/10000");

        Assert.Multiple(() =>
        {
            Assert.That(big.CacheStatus, Is.EqualTo("Relay; fwd=uri-miss; fwd-status=200"), "over MaximumBodyBytes: forwarded, not stored");
            Assert.That(_front.Store.Size, Is.LessThanOrEqualTo(65536));
            Assert.That(_front.Store.Count, Is.InRange(1, 6));
            Assert.That(firstAgain.CacheStatus, Does.StartWith("Relay; fwd=uri-miss"), "the least recently used went first");
        });
    }

    [Test]
    public async Task SetCookie_IsNeverStored()
    {
        await _front.GetAsync("/cookie/me");
        var second = await _front.GetAsync("/cookie/me");

        Assert.That(second.CacheStatus, Is.EqualTo("Relay; fwd=uri-miss; fwd-status=200"));
        Assert.That(_front.Origin.Hits("/cookie/me"), Is.EqualTo(2));
    }

    [Test]
    public async Task Metrics_CountHitsMissesBypassesStale_AndBytesSaved()
    {
        await _front.GetAsync("/assets/m.js");
        await _front.GetAsync("/assets/m.js");
        await _front.GetAsync("/api/m");
        _front.Time.Advance(TimeSpan.FromHours(2));
        _front.Origin.FailWith = 504;
        await _front.GetAsync("/assets/m.js");

        var series = await PrometheusScrape.GetAsync(_front.Client, _front.Url, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(series.GetValueOrDefault("relay_gateway_edge_cache_requests_total{result=\"hit\"}"), Is.EqualTo(1));
            Assert.That(series.GetValueOrDefault("relay_gateway_edge_cache_requests_total{result=\"miss\"}"), Is.EqualTo(1));
            Assert.That(series.GetValueOrDefault("relay_gateway_edge_cache_requests_total{result=\"bypass\"}"), Is.EqualTo(1));
            Assert.That(series.GetValueOrDefault("relay_gateway_edge_cache_requests_total{result=\"stale\"}"), Is.EqualTo(1));
            Assert.That(series.GetValueOrDefault("relay_gateway_edge_cache_bytes_saved_total"), Is.EqualTo(2 * "asset /assets/m.js v1".Length));
            Assert.That(series.GetValueOrDefault("relay_gateway_edge_cache_entries"), Is.EqualTo(1));
        });
    }
}
