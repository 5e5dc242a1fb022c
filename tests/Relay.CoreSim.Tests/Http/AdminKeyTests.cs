using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Relay.CoreSim.Tests.Http;

/// <summary>core-sim's controls need the admin key; token minting is same-origin, visitor-only without it, Development only (issue 16, item 4).</summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class AdminKeyTests
{
    private const string Key = "admin-key-for-tests-0123456789";
    private CoreSimHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _host = await CoreSimFixture.StartAsync(o => o.AdminKey = Key);

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    [TestCase("POST", "/v1/faults/refuse-streams", """{"on":true}""")]
    [TestCase("POST", "/v1/faults/slow", """{"ms":5}""")]
    [TestCase("POST", "/v1/faults/kick", """{"count":10}""")]
    [TestCase("POST", "/v1/faults/drop-relay", """{"relayId":"r1"}""")]
    [TestCase("DELETE", "/v1/faults", null)]
    [TestCase("POST", "/v1/relays/r1/drain", null)]
    [TestCase("POST", "/v1/relays/r1/undrain", null)]
    [CancelAfter(20_000)]
    public async Task Control_WithoutOrWithAWrongAdminKey_401_NothingChanged(string method, string path, string? body, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = _host.HttpUri };
        foreach (string? key in new[] { null, "wrong-key-0123456789", Key + "x" })
        {
            using var response = await http.SendAsync(Request(method, path, body, key), ct);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), $"{method} {path} with key '{key}'");
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
        }

        var faults = await CoreSimFixture.GetAsync(_host, "/v1/faults");
        Assert.That(faults.GetProperty("refuseStreams").GetBoolean(), Is.False, "a refused request changed nothing");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Control_WithTheAdminKey_Accepted(CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = _host.HttpUri };
        using (var set = await http.SendAsync(Request("POST", "/v1/faults/slow", """{"ms":5}""", Key), ct))
        {
            Assert.That(set.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using (var drain = await http.SendAsync(Request("POST", "/v1/relays/nobody/drain", null, Key), ct))
        {
            Assert.That(drain.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "past the key: no such relay");
        }

        using var clear = await http.SendAsync(Request("DELETE", "/v1/faults", null, Key), ct);
        Assert.That(clear.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Tokens_CrossOrigin_403_SameOriginAndNoOrigin_Minted(CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = _host.HttpUri };
        string visitor = """{"sub":"v1","site":"s1","role":"visitor"}""";
        using var evil = Request("POST", "/v1/tokens", visitor, null);
        evil.Headers.Add("Origin", "http://evil.example");
        using var evilWithKey = Request("POST", "/v1/tokens", visitor, Key);
        evilWithKey.Headers.Add("Origin", "http://evil.example");
        using var own = Request("POST", "/v1/tokens", visitor, null);
        own.Headers.Add("Origin", _host.HttpUri.GetLeftPart(UriPartial.Authority));
        Assert.Multiple(async () =>
        {
            Assert.That((await http.SendAsync(evil, ct)).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That((await http.SendAsync(evilWithKey, ct)).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That((await http.SendAsync(own, ct)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await http.SendAsync(Request("POST", "/v1/tokens", visitor, null), ct)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Tokens_Operator_OnlyWithTheAdminKey(CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = _host.HttpUri };
        string op = """{"sub":"o1","site":"s1","role":"operator"}""";
        using var without = await http.SendAsync(Request("POST", "/v1/tokens", op, null), ct);
        using var with = await http.SendAsync(Request("POST", "/v1/tokens", op, Key), ct);
        Assert.Multiple(() =>
        {
            Assert.That(without.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(with.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Tokens_OutsideDevelopment_OnlyWithTheAdminKey(CancellationToken ct)
    {
        await using var production = await CoreSimHost.StartAsync(Environments.Production, o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
            o.AdminKey = Key;
        }, ct);
        using var http = new HttpClient { BaseAddress = production.HttpUri };
        string visitor = """{"sub":"v1","site":"s1","role":"visitor"}""";
        using var without = await http.SendAsync(Request("POST", "/v1/tokens", visitor, null), ct);
        using var with = await http.SendAsync(Request("POST", "/v1/tokens", visitor, Key), ct);
        Assert.Multiple(() =>
        {
            Assert.That(without.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(with.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public void Start_OutsideDevelopmentWithoutAdminKey_RefusedWithOneLine()
    {
        var e = Assert.ThrowsAsync<OptionsValidationException>(async () => await CoreSimHost.StartAsync(Environments.Production, o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
        }));
        Assert.That(e!.Message, Does.Contain("CoreSim:AdminKey"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Start_InDevelopmentWithoutAdminKey_GeneratesOneThatWorks(CancellationToken ct)
    {
        await using var dev = await CoreSimFixture.StartAsync();
        Assert.That(dev.AdminKey, Has.Length.GreaterThanOrEqualTo(32));
        using var http = new HttpClient { BaseAddress = dev.HttpUri };
        using var response = await http.SendAsync(Request("POST", "/v1/faults/slow", """{"ms":1}""", dev.AdminKey), ct);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private static HttpRequestMessage Request(string method, string path, string? body, string? key)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }
}
