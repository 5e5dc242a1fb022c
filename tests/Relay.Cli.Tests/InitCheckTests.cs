using Relay.Testing;
using Relay.WireGuard.Keys;

namespace Relay.Cli.Tests;

public class InitCheckTests
{
    [Test]
    public async Task Init_WritesACommentedConfig_AndKeys0600_ThatCheckPasses()
    {
        string dir = TempFolders.Create("relay-init-");
        string corePublic = WireGuardKeyPair.Generate().PublicKey.ToBase64();

        var init = await Cli.RunAsync(
            "init", "--dir", dir, "--region", "sg", "--relay-id", "sg-1", "--core", "10.90.0.1:7000",
            "--wg-peer-public-key", corePublic, "--wg-peer-endpoint", "core.example:51820", "--public-url", "wss://sg-1.relay.example/ws", "--json");

        Assert.That(init.Code, Is.EqualTo(0), init.ToString());
        string config = Path.Combine(dir, "gateway.json");
        Assert.That(init.Json["config"]!.GetValue<string>(), Is.EqualTo(config));
        string text = await File.ReadAllTextAsync(config);
        Assert.That(text, Does.Contain("//"), "commented");
        Assert.That(text, Does.Contain("\"SharedKeyFile\"").And.Contain("\"AdminKeyFile\"").And.Contain("\"Region\": \"sg\"").And.Contain("\"Mode\": \"Managed\""));
        Assert.That(text, Does.Not.Contain(File.ReadAllText(Path.Combine(dir, "backhaul.key")).Trim()), "no secret in the config");
        foreach (string secret in new[] { "backhaul.key", "admin.key", "wg-relay.conf" })
        {
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(Path.Combine(dir, secret)), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), secret);
            }
        }

        var wg = Relay.WireGuard.Config.WgQuickConfig.Load(Path.Combine(dir, "wg-relay.conf"));
        Assert.That(wg.Peers.Single().PublicKey.ToBase64(), Is.EqualTo(corePublic));
        Assert.That(WireGuardKeyPair.DerivePublicKey(wg.Interface.PrivateKey).ToBase64(), Is.EqualTo(init.Json["wireGuardPublicKey"]!.GetValue<string>()));

        var check = await Cli.RunAsync("check", config);

        Assert.That(check.Code, Is.EqualTo(0), check.ToString());
        Assert.That(check.OutputLines, Is.EqualTo(new[] { $"{config}: ok" }));
    }

    [Test]
    public async Task Init_RefusesAnExistingConfig_UnlessForce_AndKeepsKeys()
    {
        string dir = TempFolders.Create("relay-init-");
        string[] args = ["init", "--dir", dir, "--region", "us", "--relay-id", "us-1", "--core", "10.90.0.1:7000"];
        Assert.That((await Cli.RunAsync(args)).Code, Is.EqualTo(0));
        string key = await File.ReadAllTextAsync(Path.Combine(dir, "backhaul.key"));

        var again = await Cli.RunAsync(args);
        var forced = await Cli.RunAsync([.. args, "--force"]);

        Assert.That(again.Code, Is.EqualTo(2));
        Assert.That(again.ErrorLines, Has.Length.EqualTo(1).And.Some.Contains("exists; use --force"));
        Assert.That(forced.Code, Is.EqualTo(0), forced.ToString());
        Assert.That(await File.ReadAllTextAsync(Path.Combine(dir, "backhaul.key")), Is.EqualTo(key), "init never replaces a key");
    }

    [Test]
    public async Task Check_ReportsEachInjectedProblem_OnItsOwnLine()
    {
        string config = await InitThenEditAsync(text => text.Replace("\"HttpPort\": 8080", "\"HttpPort\": 70000", StringComparison.Ordinal)
            .Replace("\"HttpsPort\": 8443,", "\"HttpsPort\": 8443, \"MaxConection\": 5,", StringComparison.Ordinal)
            .Replace("\"AgentPort\": 8081", "\"AgentPort\": -5", StringComparison.Ordinal)
            .Replace("\"Endpoints\": [", "\"LinksPerEndpoint\": \"many\", \"Endpoints\": [", StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(Path.GetDirectoryName(config)!, "admin.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        }

        var check = await Cli.RunAsync("check", config);
        var json = await Cli.RunAsync("check", config, "--json");

        string[] expected = ["Gateway:HttpPort", "Gateway:MaxConection", "Gateway:Health:AgentPort", "Gateway:Backhaul:LinksPerEndpoint", .. OperatingSystem.IsWindows() ? Array.Empty<string>() : ["Gateway:AdminKeyFile"]];
        AssertOneLineEach(check, expected);
        Assert.That(check.OutputLines, Has.Some.Contains("did you mean Gateway:MaxConnections?"));
        Assert.That(json.Code, Is.EqualTo(1));
        Assert.That(json.Json["ok"]!.GetValue<bool>(), Is.False);
        Assert.That(json.Json["problems"]!.AsArray(), Has.Count.EqualTo(expected.Length));
    }

    [Test]
    public async Task Check_ReportsTheTunnelsBackhaulRules_WithTheOtherProblems_EachOnItsOwnLine()
    {
        string config = await InitThenEditAsync(text => text.Replace("\"Endpoints\": [ \"10.90.0.1:7000\" ]", "\"Endpoints\": [ \"10.90.0.1:7000\", \"core-without-port\" ], \"LinksPerEndpoint\": 100, \"DeadLinkTimeout\": \"00:00:01\"", StringComparison.Ordinal)
            .Replace("\"HttpPort\": 8080", "\"HttpPort\": 70000", StringComparison.Ordinal));

        var check = await Cli.RunAsync("check", config);

        AssertOneLineEach(check, ["Gateway:HttpPort", "Gateway:Backhaul:DeadLinkTimeout", "Gateway:Backhaul:LinksPerEndpoint", "Gateway:Backhaul:Endpoints"]);
        Assert.That(check.OutputLines, Has.Some.Contains("core-without-port").And.Some.Contains("was 100"));
    }

    [Test]
    public async Task Check_FileThatIsNotJson_IsOneProblem_Exit1()
    {
        string dir = TempFolders.Create("relay-check-");
        string bad = Path.Combine(dir, "gateway.json");
        await File.WriteAllTextAsync(bad, "{ \"Gateway\": ");

        var notJson = await Cli.RunAsync("check", bad);

        Assert.That(notJson.Code, Is.EqualTo(1));
        Assert.That(notJson.OutputLines, Has.Length.EqualTo(1).And.Some.StartsWith($"{bad}: not valid JSON"));
    }

    [Test]
    public async Task Check_MissingFile_IsAnError_OneLineOnStandardError_Exit2()
    {
        string missing = Path.Combine(TempFolders.Create("relay-check-"), "none.json");

        var run = await Cli.RunAsync("check", missing);
        var json = await Cli.RunAsync("check", missing, "--json");

        Assert.That(run.Code, Is.EqualTo(2), run.ToString());
        Assert.That(run.Output, Is.Empty);
        Assert.That(run.ErrorLines, Is.EqualTo(new[] { $"relay: {missing}: no such file" }));
        Assert.That(json.Code, Is.EqualTo(2), json.ToString());
        Assert.That(json.Output, Is.Empty);
        Assert.That(json.ErrorLines, Has.Length.EqualTo(1).And.Some.StartsWith("relay: "));
    }

    /// <summary>A config as <c>relay init</c> writes it, then edited as an operator might: its path.</summary>
    private static async Task<string> InitThenEditAsync(Func<string, string> edit)
    {
        string dir = TempFolders.Create("relay-check-");
        Assert.That((await Cli.RunAsync("init", "--dir", dir, "--region", "sg", "--relay-id", "sg-1", "--core", "10.90.0.1:7000")).Code, Is.EqualTo(0));
        string config = Path.Combine(dir, "gateway.json");
        await File.WriteAllTextAsync(config, edit(await File.ReadAllTextAsync(config)));
        return config;
    }

    /// <summary>Exit 1 and one line per problem: each setting named on exactly one line, nothing else.</summary>
    private static void AssertOneLineEach(CliRun check, string[] settings)
    {
        Assert.That(check.Code, Is.EqualTo(1), check.ToString());
        Assert.That(check.OutputLines, Has.Length.EqualTo(settings.Length), check.ToString());
        foreach (string key in settings)
        {
            Assert.That(check.OutputLines.Count(l => l.Contains(key + ":", StringComparison.Ordinal) || l.Contains(key + " ", StringComparison.Ordinal)), Is.EqualTo(1), $"{key} on one line:\n{check.Output}");
        }
    }
}
