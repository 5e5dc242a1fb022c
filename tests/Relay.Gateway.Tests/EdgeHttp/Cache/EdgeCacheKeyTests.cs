namespace Relay.Gateway.Tests.EdgeHttp.Cache;

/// <summary>
/// The edge cache's key is the request the origin gets: the path and the query as sent, case and order kept. Output
/// caching's default key upper-cases the path and the query's keys and sorts the pairs, so until stop 42 a client that
/// asked first for `/assets/APP.JS` or `?V=x` had every user asking for `/assets/app.js` or `?v=x` served its answer for
/// the edge TTL (cache poisoning where the origin answers them differently; found by a security review).
/// </summary>
[NonParallelizable]
public class EdgeCacheKeyTests
{
    private EdgeCacheFront _front = null!;

    [SetUp]
    public async Task SetUp() => _front = await EdgeCacheFront.StartAsync(); // the built-in rules: /assets/** cached for an hour

    [TearDown]
    public async Task TearDown() => await _front.DisposeAsync();

    [TestCase("/assets/app.js?V=evil", "/assets/app.js?v=evil")]
    [TestCase("/assets/APP.JS", "/assets/app.js")]
    [TestCase("/assets/app.js?b=2&a=1", "/assets/app.js?a=1&b=2")]
    public async Task RequestsTheOriginGetsAsDifferent_AreDifferentEntries(string first, string then)
    {
        var poison = await _front.GetAsync(first);
        var victim = await _front.GetAsync(then);

        Assert.That(poison.Body, Is.EqualTo($"asset {first} v1"));
        Assert.That(victim.Body, Is.EqualTo($"asset {then} v1"), "served the first request's response: " + victim.CacheStatus);
    }
}
