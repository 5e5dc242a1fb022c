using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Relay.Gateway.EdgeHttp.Cache;

namespace Relay.Gateway.Tests.EdgeHttp.Cache;

public class EdgeCacheOptionsTests
{
    private static string[] Required =>
    [
        $"--Gateway:PublicKeyPath={GatewayFixture.PublicKeyPath}",
        $"--Gateway:Backhaul:SharedKey={GatewayFixture.SharedKey}",
    ];

    [TestCase("Path", "", "Rules:0: Path is required")]
    [TestCase("Path", "assets/**", "Rules:0: Path must start with '/' or '*'")]
    [TestCase("Path", "/assets/{js,css", "Rules:0: Path '/assets/{js,css' has a '{' without its '}'")]
    [TestCase("Host", "a.{b", "Rules:0: Host 'a.{b' has a '{' without its '}'")]
    [TestCase("EdgeTtlSeconds", "0", "Rules:0: EdgeTtlSeconds must be 1 to 31536000")]
    [TestCase("BrowserTtlSeconds", "-1", "Rules:0: BrowserTtlSeconds must be 0 to")]
    [TestCase("StaleIfErrorSeconds", "99999999", "Rules:0: StaleIfErrorSeconds must be 0 to")]
    [TestCase("VaryByHeader", "Accept Language", "Rules:0: VaryByHeader must be a header name")]
    public void BadRule_FailsValidation_WithOneLineNamingTheRule(string key, string value, string expected)
    {
        var rule = new EdgeCacheRuleOptions { Path = "/assets/**" };
        typeof(EdgeCacheRuleOptions).GetProperty(key)!.SetValue(rule, key switch
        {
            "Path" or "Host" or "VaryByHeader" => value,
            _ => int.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
        });
        var options = new EdgeCacheOptions { Rules = [new() { Path = "/ok/**" }, rule] };
        options.Rules.RemoveAt(0);

        var result = new EdgeCacheOptionsValidator().Validate(null, options);

        Assert.That(result.Failed, Is.True);
        Assert.That(result.Failures!.Single(), Does.StartWith("Gateway:EdgeHttp:Cache:" + expected.Split(':')[0] + ":").And.Contain(expected.Split(": ", 2)[1]).And.Not.Contain("\n"));
    }

    [TestCase(-1)]
    [TestCase(60_001)]
    public void LockTimeout_OutOfRange_FailsValidation_WithOneLine(int milliseconds)
    {
        var result = new EdgeCacheOptionsValidator().Validate(null, new EdgeCacheOptions { LockTimeoutMilliseconds = milliseconds });

        Assert.That(result.Failures!.Single(), Is.EqualTo($"Gateway:EdgeHttp:Cache:LockTimeoutMilliseconds must be 0 to 60000 (1 minute); was {milliseconds}."));
    }

    [Test]
    public void TwoBadRules_AreTwoLines()
    {
        var options = new EdgeCacheOptions { Rules = [new() { Path = "x" }, new() { Path = "/ok/**" }, new() { Path = "/y", EdgeTtlSeconds = 0 }] };

        var failures = new EdgeCacheOptionsValidator().Validate(null, options).Failures!.ToArray();

        Assert.That(failures, Has.Length.EqualTo(2));
        Assert.That(failures[0], Does.StartWith("Gateway:EdgeHttp:Cache:Rules:0: "));
        Assert.That(failures[1], Does.StartWith("Gateway:EdgeHttp:Cache:Rules:2: "));
    }

    [Test]
    public void DefaultOptions_AndBuiltInRules_AreValid()
    {
        var options = new EdgeCacheOptions { Rules = [.. EdgeCacheOptions.BuiltInRules] };

        Assert.That(new EdgeCacheOptionsValidator().Validate(null, options).Succeeded, Is.True);
    }

    [TestCase("/assets/app.js", "/assets/**", true)]
    [TestCase("/assets", "/assets/**", false)]
    [TestCase("/widget/a/b/chat.CSS", "**/*.{js,css}", true)]
    [TestCase("/chat.css", "**/*.{js,css}", true)]
    [TestCase("/chat.cssx", "**/*.{js,css}", false)]
    [TestCase("/a/b.js", "/*.js", false)]
    [TestCase("/a/b.js", "/?/*.js", true)]
    public void PathGlob_Matches(string path, string glob, bool matches)
    {
        var regex = CacheGlob.TryCompile(glob, '/', out _)!;

        Assert.That(regex.IsMatch(path), Is.EqualTo(matches));
    }

    [TestCase("--Gateway:EdgeHttp:Cache:Rules:0:Pth=/x/**", "unknown setting Gateway:EdgeHttp:Cache:Rules:0:Pth (did you mean Gateway:EdgeHttp:Cache:Rules:0:Path?)")]
    [TestCase("--Gateway:EdgeHttp:Cache:Rules:0:EdgeTtlSeconds=soon", "Gateway:EdgeHttp:Cache:Rules:0:EdgeTtlSeconds: 'soon' is not a valid Int32")]
    [TestCase("--Gateway:EdgeHttp:Cache:Rules:0:Action=Sometimes", "Gateway:EdgeHttp:Cache:Rules:0:Action: 'Sometimes' is not a valid EdgeCacheAction (CacheEverything, Bypass)")]
    [TestCase("--Gateway:EdgeHttp:Cache:SizeLimitByte=5", "unknown setting Gateway:EdgeHttp:Cache:SizeLimitByte (did you mean Gateway:EdgeHttp:Cache:SizeLimitBytes?)")]
    public void GatewayHost_BadRuleKeyOrValue_StopsBuild_WithOneLine(string argument, string line)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => GatewayHost.Build([.. Required, argument]));

        Assert.That(ex!.Failures.Single(), Is.EqualTo(line));
    }

    [Test]
    public void GatewayHost_BadRule_StopsStartUp_NamingTheRule()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => GatewayHost.Build([.. Required, "--Gateway:HttpPort=0", "--Gateway:Health:AgentPort=-1", "--Gateway:EdgeHttp:Cache:Rules:0:Path=/x/**", "--Gateway:EdgeHttp:Cache:Rules:0:EdgeTtlSeconds=0"]));

        Assert.That(ex!.Failures.Single(), Is.EqualTo("Gateway:EdgeHttp:Cache:Rules:0: EdgeTtlSeconds must be 1 to 31536000 (1 year); was 0."));
    }

    [Test]
    public async Task Gateway_StatusHasEdgeCache_AndPurgeNeedsTheAdminKey()
    {
        await using var gateway = await GatewayFixture.StartAsync();
        using var http = new HttpClient();

        using var status = JsonDocument.Parse(await http.GetStringAsync(gateway.HttpUrl + "/status"));
        using var anonymous = await http.PostAsync(gateway.HttpUrl + "/admin/cache/purge?prefix=/", null);
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.HttpUrl + "/admin/cache/purge?prefix=/assets/");
        request.Headers.Authorization = new("Bearer", "admin-test-key");
        using var purge = await http.SendAsync(request);

        Assert.Multiple(async () =>
        {
            var cache = status.RootElement.GetProperty("edgeCache");
            Assert.That(cache.GetProperty("hits").GetInt64(), Is.Zero);
            Assert.That(cache.GetProperty("sizeLimitBytes").GetInt64(), Is.EqualTo(new EdgeCacheOptions().SizeLimitBytes));
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(purge.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await purge.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("purged").GetInt32(), Is.Zero);
        });
    }
}
