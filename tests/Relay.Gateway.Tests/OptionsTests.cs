using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;
using Relay.Testing;
using Relay.Testing.Options;
using Relay.Testing.Processes;

namespace Relay.Gateway.Tests;

public class OptionsTests
{
    private static readonly TimeSpan s_exitTimeout = TimeSpan.FromSeconds(60);

    private static string[] Required =>
    [
        $"--Gateway:PublicKeyPath={GatewayFixture.PublicKeyPath}",
        $"--Gateway:Backhaul:SharedKey={GatewayFixture.SharedKey}",
    ];

    [TestCase("--Gateway:MaxMessageSize=10", "Gateway:MaxMessageSize")]
    [TestCase("--Gateway:Backhaul:SharedKey=short", "Gateway:Backhaul:SharedKey")]
    [TestCase("--Gateway:BindAddress=not-an-ip", "Gateway:BindAddress")]
    [TestCase("--Gateway:Health:AgentPort=70000", "Gateway:Health:AgentPort")]
    [TestCase("--Gateway:Health:EnterAfter=0", "Gateway:Health:EnterAfter")]
    [TestCase("--Gateway:Backhaul:LinksPerEndpoint=0", "Gateway:Backhaul:LinksPerEndpoint")]
    [TestCase("--Gateway:Backhaul:LinksPerEndpoint=65", "Gateway:Backhaul:LinksPerEndpoint")]
    [TestCase("--Gateway:Backhaul:MaxMessageSize=300000", "Gateway:Backhaul:MaxMessageSize")]
    [TestCase("--Gateway:Backhaul:Endpoints:0=core-without-port", "Gateway:Backhaul:Endpoints")]
    [TestCase("--Gateway:PublicKeyPath=/nonexistent/key.pem", "Gateway:PublicKeyPath")]
    [TestCase("--Gateway:DemoTokenUrl=not-a-url", "Gateway:DemoTokenUrl")]
    [TestCase("--Gateway:Negotiate:TokenUrl=not-a-url", "Gateway:Negotiate:TokenUrl")]
    [TestCase("--Gateway:Negotiate:PublicUrl=http://relay/ws", "Gateway:Negotiate:PublicUrl")]
    [TestCase("--Gateway:HttpPort=abc", "Gateway:HttpPort")]
    [TestCase("--Gateway:KeepAliveInterval=soon", "Gateway:KeepAliveInterval")]
    [TestCase("--Gateway:Backhaul:Endpoints=127.0.0.1:7000", "Gateway:Backhaul:Endpoints:0")]
    [TestCase("--Gateway:WireGuard:Mode=Sometimes", "Gateway:WireGuard:Mode")]
    [TestCase("--Gateway:HttpPot=9000", "Gateway:HttpPort")]
    [TestCase("--Gateway:HttpPort=18980 --Gateway:Health:AgentPort=18980", "Gateway:Health:AgentPort")]
    [TestCase("--Gateway:EdgeHttp:Prefixes:0=/", "Gateway:EdgeHttp:Prefixes:0")]
    [TestCase("--Gateway:EdgeHttp:Prefixes:0=/status/", "Gateway:EdgeHttp:Prefixes:0")] // would take GET /status
    [TestCase("--Gateway:EdgeHttp:Prefixes:0=/admin/cache/", "Gateway:EdgeHttp:Prefixes:0")] // would forward the purge, admin key and all
    [TestCase("--Gateway:EdgeHttp:Prefixes:0=/ws/", "Gateway:EdgeHttp:Prefixes:0")]
    [TestCase("--Gateway:Backhaul:RelayId=relay-with-an-id-longer-than-sixty-four-characters-0123456789abcdef", "Gateway:Backhaul:RelayId")]
    [TestCase("--Gateway:Backhaul:Region=a-region-name-longer-than-sixty-four-characters-0123456789abcdefgh", "Gateway:Backhaul:Region")]
    public void BadSetting_StopsStartUp_WithOneLineNamingIt(string arguments, string setting)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => GatewayHost.Build([.. Required, .. arguments.Split(' ')]));
        Assert.That(ex!.Failures.Single(), Does.Contain(setting));
        Assert.That(ex.Failures.Single(), Does.Not.Contain("\n"));
    }

    [TestCase("not a key")]
    [TestCase("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n")]
    public void PublicKeyFile_ThatHoldsNoKey_StopsStartUp_WithOneLineNamingIt(string content)
    {
        string folder = Relay.Testing.TempFolders.Create("relay-public-key-");
        string path = Path.Combine(folder, "core-public.pem");
        File.WriteAllText(path, content);

        var ex = Assert.Throws<OptionsValidationException>(() => GatewayHost.Build([.. Required, $"--Gateway:PublicKeyPath={path}"]));

        Assert.That(ex!.Failures.Single(), Does.Contain("Gateway:PublicKeyPath").And.Contain(path));
        Assert.That(ex.Failures.Single(), Does.Not.Contain("\n"));
        Directory.Delete(folder, recursive: true);
    }

    [TestCase("Production", false)]
    [TestCase("Development", true)]
    public void DevelopmentBackhaulKey_IsAcceptedOnlyInDevelopment(string environment, bool starts)
    {
        string[] args = [$"--Gateway:PublicKeyPath={GatewayFixture.PublicKeyPath}", $"--Gateway:Backhaul:SharedKey={Relay.Tunnel.Links.LinkKey.DevelopmentKey}", $"--environment={environment}"];
        if (starts)
        {
            using var app = GatewayHost.Build(args);
            return;
        }

        var ex = Assert.Throws<OptionsValidationException>(() => GatewayHost.Build(args));
        Assert.That(ex!.Failures.Single(), Does.Contain("Gateway:Backhaul:SharedKey").And.Contain("Development"));
        Assert.That(ex.Failures.Single(), Does.Not.Contain("\n"));
    }

    [TestCase("Gateway:HttpPot", "Gateway:HttpPort")]
    [TestCase("Gateway:Helth:EnterAfter", "Gateway:Health:EnterAfter")]
    [TestCase("gateway:backhaul:sharedkye", "Gateway:Backhaul:SharedKey")]
    [TestCase("Gateway:WireGuard:Interfase", "Gateway:WireGuard:Interface")]
    public void UnknownKey_IsReportedWithTheNearestValidName(string key, string nearest)
    {
        string? error = GatewaySettings.Schema.Check([new(key, "1")]);

        Assert.That(error, Is.EqualTo($"unknown setting {key} (did you mean {nearest}?)"));
    }

    [Test]
    public void UnknownKey_FarFromEveryName_IsReportedWithoutAGuess()
    {
        Assert.That(GatewaySettings.Schema.Check([new("Gateway:Colour", "blue")]), Is.EqualTo("unknown setting Gateway:Colour"));
    }

    [Test]
    public void KnownKeys_ListItems_AndOtherSections_PassTheCheck()
    {
        KeyValuePair<string, string?>[] configuration =
        [
            new("Gateway:HttpPort", "0"), new("gateway:health:agentport", "-1"), new("Gateway:Backhaul:Endpoints:0", "core:7000"),
            new("Gateway:AllowedOrigins:0", "https://a.example"), new("Gateway:DemoWidget", ""), new("Gateway:WireGuard:Mode", "External"),
            new("Gateway:Health", null), new("Logging:LogLevel:Default", "Warning"), new("urls", "http://127.0.0.1:0"),
        ];

        Assert.That(GatewaySettings.Schema.Check(configuration), Is.Null);
    }

    [Test]
    public void Configure_RunsAfterBinding_AndValidationLeavesOptionsAsSet()
    {
        using var app = GatewayHost.Build([.. Required, "--Gateway:HttpPort=0", "--Gateway:Health:AgentPort=-1", "--Gateway:MaxSessionsPerIp=7"], o => o.MessageBurst = 77);
        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;

        Assert.That(options.MaxSessionsPerIp, Is.EqualTo(7));
        Assert.That(options.MessageBurst, Is.EqualTo(77));
        Assert.That(options.Backhaul.Endpoints, Is.EqualTo(new[] { BackhaulOptions.DefaultEndpoint }), "none set: the default endpoint, filled in after binding");

        var unset = new GatewayOptions { PublicKeyPath = GatewayFixture.PublicKeyPath, Backhaul = { SharedKey = GatewayFixture.SharedKey } };
        Assert.That(new GatewayOptionsValidator().Validate(null, unset).Succeeded, Is.True);
        Assert.That(unset.Backhaul.Endpoints, Is.Empty, "validation only reads");
    }

    [Test]
    public void DocsTable_ListsEveryOption_WithItsDefault()
    {
        var problems = OptionsTable.Problems(GatewaySettings.Schema, "docs/gateway-options.md", skipPrefix: "WireGuard:");

        Assert.That(problems, Is.Empty);
    }

    /// <summary>
    /// Every range the table states ("1–64", "500 ms – 5 min") is the one the validators hold: both bounds accepted,
    /// the nearest values outside refused (a problem naming the key alone: a rule between two keys, such as
    /// MaxMessageSize at most Backhaul:MaxMessageSize, is the table's prose).
    /// </summary>
    [Test]
    public void DocsTable_Ranges_AreTheValidatorsRanges()
    {
        var ranges = OptionsTable.Ranges(GatewaySettings.Schema, "docs/gateway-options.md");
        var wrong = new List<string>();
        foreach (var range in ranges)
        {
            foreach (var (value, valid) in new[] { (range.Low, true), (range.High, true), (range.BelowLow, false), (range.AboveHigh, false) })
            {
                if (Refuses(range.Key, value) == valid)
                {
                    wrong.Add($"{range.Key} ({range.Text}): {value} {(valid ? "refused" : "accepted")}");
                }
            }
        }

        Assert.That(ranges, Has.Count.GreaterThanOrEqualTo(10), "the ranges were read");
        Assert.That(wrong, Is.Empty);
    }

    /// <summary>wireguard/README.md's table (the gateway's and core-sim's <c>WireGuard:</c> keys, skipped above): every key with its default.</summary>
    [Test]
    public void WireGuardReadmeTable_ListsEveryOption_WithItsDefault()
    {
        var schema = new Relay.Contracts.Configuration.SettingsSchema("Gateway:WireGuard", typeof(Relay.WireGuard.WireGuardOptions));

        Assert.That(OptionsTable.Problems(schema, "wireguard/README.md"), Is.Empty);
    }

    /// <summary>The edge cache rule table: every rule key listed with its default, and its ranges as a rule's validator holds them.</summary>
    [Test]
    public void DocsRuleTable_ListsEveryCacheRuleKey_WithItsDefaultAndRange()
    {
        const string rule = "Gateway:EdgeHttp:Cache:Rules:0";
        var schema = new Relay.Contracts.Configuration.SettingsSchema(rule, typeof(Relay.Gateway.EdgeHttp.Cache.EdgeCacheRuleOptions));
        var problems = OptionsTable.Problems(schema, "docs/gateway-options.md", keyColumn: "rule key");
        var ranges = OptionsTable.Ranges(schema, "docs/gateway-options.md", keyColumn: "rule key");
        var wrong = new List<string>();
        foreach (var range in ranges)
        {
            foreach (var (value, valid) in new[] { (range.Low, true), (range.High, true), (range.BelowLow, false), (range.AboveHigh, false) })
            {
                var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    [$"{rule}:Path"] = "/assets/**",
                    [$"{rule}:{range.Key}"] = value,
                    ["Gateway:PublicKeyPath"] = GatewayFixture.PublicKeyPath,
                }).Build();
                bool refused = GatewayConfigCheck.Check(configuration, development: true).Any(p => p.StartsWith($"{rule}: {range.Key} ", StringComparison.Ordinal));
                if (refused == valid)
                {
                    wrong.Add($"{range.Key} ({range.Text}): {value} {(valid ? "refused" : "accepted")}");
                }
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(problems, Is.Empty);
            Assert.That(ranges, Has.Count.GreaterThanOrEqualTo(2), "the ranges were read");
            Assert.That(wrong, Is.Empty);
        });
    }

    /// <summary>
    /// Every <c>Gateway:…</c> and <c>CoreSim:…</c> key the docs name (README.md, docs/, the components' READMEs) is one
    /// the options read, spelled as they spell it: a setting, a section of settings, or an item of a list setting. The
    /// misspelled keys the docs show on purpose (a start-up error's example) and placeholders are listed here.
    /// </summary>
    [Test]
    public void Docs_NameOnlyKeysTheOptionsRead()
    {
        string[] onPurpose = ["Gateway:HttpPot", "CoreSim:HttpPot", "Gateway:X", "CoreSim:X"];
        var coreSim = new Relay.Contracts.Configuration.SettingsSchema( // core-sim's CoreSimSettings.Schema (internal there)
            Relay.CoreSim.Configuration.CoreSimOptions.SectionName,
            typeof(Relay.CoreSim.Configuration.CoreSimOptions),
            new Dictionary<string, Type>(StringComparer.Ordinal) { ["WireGuard"] = typeof(Relay.WireGuard.WireGuardOptions) });
        Relay.Contracts.Configuration.SettingsSchema[] schemas = [GatewaySettings.Schema, coreSim];
        var settings = schemas.SelectMany(schema => schema.Settings).ToList();
        var keys = settings.Select(s => s.Key).ToList();
        var lists = settings.Where(s => s.Property.PropertyType != typeof(string) && s.Property.PropertyType.IsAssignableTo(typeof(System.Collections.IEnumerable))).Select(s => s.Key).ToList();
        string[] docs = [
            "README.md", "core-sim/README.md", "tunnel/Protocol/README.md", "wireguard/README.md",
            .. Directory.EnumerateFiles(Path.Combine(Repo.Root, "docs"), "*.md"),
            .. Directory.EnumerateFiles(Path.Combine(Repo.Root, "tools"), "README.md", SearchOption.AllDirectories),
            .. Directory.EnumerateFiles(Path.Combine(Repo.Root, "clients"), "README.md", SearchOption.AllDirectories).Where(f => !f.Contains("node_modules", StringComparison.Ordinal)),
        ];
        var unknown = new SortedSet<string>(StringComparer.Ordinal);
        int named = 0;
        foreach (string doc in docs.Select(d => Path.GetRelativePath(Repo.Root, Path.Combine(Repo.Root, d))))
        {
            foreach (string key in System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(Path.Combine(Repo.Root, doc)), @"\b(?:Gateway|CoreSim)(?::[A-Z][A-Za-z0-9]*)+").Select(m => m.Value).Where(k => !onPurpose.Contains(k)))
            {
                named++;
                bool known = keys.Any(k => k == key || k.StartsWith(key + ":", StringComparison.Ordinal)) // a setting or a section
                    || lists.Any(k => key.StartsWith(k + ":", StringComparison.Ordinal)); // a list's item
                if (!known)
                {
                    unknown.Add($"{doc}: {key}");
                }
            }
        }

        Assert.That(named, Is.GreaterThan(50), "the keys were read");
        Assert.That(unknown, Is.Empty, "named in the docs, read by no option");
    }

    /// <summary>Whether <c>relay check</c>'s validators (start-up's) refuse <paramref name="value"/> for Gateway:<paramref name="key"/>, naming it alone.</summary>
    private static bool Refuses(string key, string value)
    {
        string name = "Gateway:" + key;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [name] = value,
            ["Gateway:PublicKeyPath"] = GatewayFixture.PublicKeyPath,
        }).Build();
        return GatewayConfigCheck.Check(configuration, development: true).Any(problem => OptionsTable.NamesOnly(problem, name));
    }

    [TestCase("--Gateway:HttpPort=abc", "gateway: configuration error: Gateway:HttpPort: 'abc' is not a valid Int32")]
    [TestCase("--Gateway:HttpPot=9000", "gateway: configuration error: unknown setting Gateway:HttpPot (did you mean Gateway:HttpPort?)")]
    [TestCase("--Gateway:Health:AgentPort=70000", "gateway: configuration error: Gateway:Health:AgentPort must be -1 (off) or 0-65535; was 70000.")]
    public async Task Process_BadSetting_ExitsWith2_AndOneLineOnStandardError(string argument, string line)
    {
        using var gateway = HostProcess.Start("Relay.Gateway.dll", [.. Required, argument]);

        int code = await gateway.WaitForExitAsync(s_exitTimeout);

        Assert.That(code, Is.EqualTo(2));
        Assert.That(gateway.Error, Is.EqualTo(new[] { line }));
        Assert.That(gateway.Output, Has.None.Contains(" at "), "no stack trace");
    }

    [Test]
    public async Task Process_ValidSettings_Starts()
    {
        using var gateway = HostProcess.Start(
            "Relay.Gateway.dll",
            [.. Required, "--Gateway:BindAddress=127.0.0.1", "--Gateway:HttpPort=0", "--Gateway:Health:AgentPort=-1", "--Gateway:Backhaul:Endpoints:0=127.0.0.1:1"]);

        bool listening = await gateway.WaitForOutputAsync("Now listening on: http://127.0.0.1:", s_exitTimeout);

        Assert.That(listening, Is.True, string.Join('\n', gateway.Output.Concat(gateway.Error)));
        Assert.That(gateway.Error, Is.Empty);
    }
}
