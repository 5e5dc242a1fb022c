using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Gateway.Tests;

/// <summary>
/// Issue 19: the gateway process reads appsettings.json beside its binary (not the working directory), then the
/// system file or <c>--config FILE</c>, then the environment, then the command line; secrets may come from files.
/// </summary>
[NonParallelizable]
public class ConfigurationFileTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly List<string> _folders = [];

    /// <summary>Each test's folders (configs, secrets, a copy of the gateway) go when it ends, not only at the test
    /// process's exit, which a test host stopped by its runner never reaches.</summary>
    [TearDown]
    public void RemoveFolders()
    {
        foreach (string folder in _folders)
        {
            TempFolders.Remove(folder);
        }

        _folders.Clear();
    }

    private string Folder(string prefix)
    {
        string folder = TempFolders.Create(prefix);
        _folders.Add(folder);
        return folder;
    }

    [Test]
    public async Task Process_ReadsAppSettingsBesideItsBinary_FromAnotherWorkingDirectory()
    {
        int port = Ports.Free();
        string dll = CopyGateway(AppSettings(port));

        using var gateway = HostProcess.Start(dll);

        Assert.That(await ListensOnAsync(gateway, port), Is.True, Describe(gateway));
    }

    [Test]
    public async Task ConfigFile_WinsOverAppSettings()
    {
        int port = Ports.Free();
        string dll = CopyGateway(AppSettings(Ports.Free()));
        string config = WriteJson(new { Gateway = new { HttpPort = port } });

        using var gateway = HostProcess.Start(dll, "--config", config);

        Assert.That(await ListensOnAsync(gateway, port), Is.True, Describe(gateway));
    }

    [Test]
    public async Task Environment_WinsOverConfigFile_AndCommandLineOverEnvironment()
    {
        int envPort = Ports.Free();
        string dll = CopyGateway(AppSettings(Ports.Free()));
        string config = WriteJson(new { Gateway = new { HttpPort = Ports.Free() } });

        using (var gateway = HostProcess.Start(dll, new Dictionary<string, string> { ["Gateway__HttpPort"] = envPort.ToString() }, "--config", config))
        {
            Assert.That(await ListensOnAsync(gateway, envPort), Is.True, Describe(gateway));
        }

        int argPort = Ports.Free();
        using (var gateway = HostProcess.Start(dll, new Dictionary<string, string> { ["Gateway__HttpPort"] = Ports.Free().ToString() }, $"--config={config}", $"--Gateway:HttpPort={argPort}"))
        {
            Assert.That(await ListensOnAsync(gateway, argPort), Is.True, Describe(gateway));
        }
    }

    [Test]
    public async Task SecretsFromFiles_AreReadTrimmed_AndUsed()
    {
        int port = Ports.Free();
        string folder = Folder("relay-secrets-");
        string keyFile = WriteSecret(folder, "backhaul.key", "\n  " + GatewayFixture.SharedKey + "  \n");
        string adminFile = WriteSecret(folder, "admin.key", "admin-from-file\n");
        string dll = CopyGateway(AppSettings(port, sharedKey: null));
        string config = WriteJson(new { Gateway = new { AdminKeyFile = adminFile, Backhaul = new { SharedKeyFile = keyFile } } });

        using var gateway = HostProcess.Start(dll, "--config", config);
        Assert.That(await ListensOnAsync(gateway, port), Is.True, Describe(gateway));

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var unauthorized = await http.PostAsync("/admin/undrain", null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/undrain");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "admin-from-file");
        var authorized = await http.SendAsync(request);

        Assert.That(unauthorized.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(authorized.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the admin key from the file, trimmed");
    }

    [Test]
    public async Task SecretFile_ReadableByEveryone_StopsStartUp_WithOneLine()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("file modes are Unix");
            return;
        }

        string folder = Folder("relay-secrets-");
        string keyFile = WriteSecret(folder, "backhaul.key", GatewayFixture.SharedKey);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        string dll = CopyGateway(AppSettings(Ports.Free(), sharedKey: null));

        using var gateway = HostProcess.Start(dll, $"--Gateway:Backhaul:SharedKeyFile={keyFile}");
        int code = await gateway.WaitForExitAsync(s_timeout);

        Assert.That(code, Is.EqualTo(2));
        Assert.That(gateway.Error, Has.Count.EqualTo(1));
        Assert.That(gateway.Error[0], Does.StartWith("gateway: configuration error: Gateway:Backhaul:SharedKeyFile:").And.Contain("chmod 600"));
    }

    [Test]
    public async Task MissingConfigFile_ExitsWith2_AndOneLine()
    {
        using var gateway = HostProcess.Start("Relay.Gateway.dll", "--config", "/nonexistent/relay/gateway.json");

        int code = await gateway.WaitForExitAsync(s_timeout);

        Assert.That(code, Is.EqualTo(2));
        Assert.That(gateway.Error, Is.EqualTo(new[] { "gateway: configuration error: --config /nonexistent/relay/gateway.json: no such file" }));
    }

    [TestCase("folder")]
    [TestCase("file")]
    [CancelAfter(60_000)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task ConfigFile_TheGatewaysUserCannotRead_ExitsWith2_SayingSo(string what, CancellationToken token)
    {
        // A review found a config the gateway's user could not read taken for a missing one: /etc/relay (root:relay
        // 0750) was skipped silently, the gateway started from defaults and stopped on an unrelated setting; --config
        // said "no such file". Now it says it cannot be read, by whom.
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Assert.Ignore("runs the gateway as another user (setpriv): Linux, as root");
        }

        string folder = Folder("relay-unreadable-");
        string config = Path.Combine(folder, "gateway.json");
        await File.WriteAllTextAsync(config, "{}", token);
        if (what == "folder")
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        else
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0x1ED); // 0755
            File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        string home = Folder("relay-nobody-home-");
        File.SetUnixFileMode(home, (UnixFileMode)0x1FF); // 0777: dotnet's first-run files for user nobody
        var run = await ProcessRunner.RunAsync(
            "setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "dotnet", Repo.GatewayDll, "--config", config],
            token,
            environment: new Dictionary<string, string> { ["HOME"] = home, ["DOTNET_CLI_HOME"] = home });

        Assert.That(run.ExitCode, Is.EqualTo(2), run.StdOut + run.StdErr);
        Assert.That(run.StdErr.Trim(), Does.StartWith($"gateway: configuration error: --config {config}: cannot be read").And.Contain("nobody"));
    }

    [Test]
    public async Task ConfigFile_NotJson_ExitsWith2_AndOneLine()
    {
        string config = Path.Combine(Folder("relay-config-"), "gateway.json");
        await File.WriteAllTextAsync(config, "{ \"Gateway\": { \"HttpPort\": ");

        using var gateway = HostProcess.Start("Relay.Gateway.dll", "--config", config);
        int code = await gateway.WaitForExitAsync(s_timeout);

        Assert.That(code, Is.EqualTo(2));
        Assert.That(gateway.Error, Has.Count.EqualTo(1));
        Assert.That(gateway.Error[0], Does.StartWith($"gateway: configuration error: {config}: not valid JSON"));
    }

    [Test]
    public void Check_ReportsEveryProblem_OneLineEach()
    {
        string config = WriteJson(new
        {
            Gateway = new
            {
                HttpPot = 1,
                MaxMessageSize = 10,
                BindAddress = "nowhere",
                PublicKeyPath = "/nonexistent/key.pem",
                Backhaul = new { SharedKeyFile = "/nonexistent/backhaul.key", LinksPerEndpoint = 0 },
                Health = new { EnterAfter = 0 },
                UnderAttack = new { Difficulty = 99 },
            },
        });

        var problems = GatewayConfigCheck.CheckFile(config);

        Assert.That(problems, Has.Some.Contains("Gateway:HttpPot"));
        Assert.That(problems, Has.Some.Contains("Gateway:MaxMessageSize"));
        Assert.That(problems, Has.Some.Contains("Gateway:BindAddress"));
        Assert.That(problems, Has.Some.Contains("Gateway:PublicKeyPath"));
        Assert.That(problems, Has.Some.Contains("Gateway:Backhaul:SharedKeyFile"));
        Assert.That(problems, Has.Some.Contains("Gateway:Backhaul:LinksPerEndpoint"));
        Assert.That(problems, Has.Some.Contains("Gateway:Health:EnterAfter"));
        Assert.That(problems, Has.Some.Contains("Gateway:UnderAttack:Difficulty"));
        Assert.That(problems, Has.None.Contains("\n"));
    }

    /// <summary>docs/gateway-options.md: <c>relay check</c> runs start-up's checks, edge HTTP's and its cache's included.</summary>
    [Test]
    public void Check_ReportsEdgeHttpAndCacheProblems_AsStartUpDoes()
    {
        string values = WriteJson(new
        {
            Gateway = new
            {
                EdgeHttp = new
                {
                    Timeout = "00:00:00",
                    Cache = new { SizeLimitBytes = 10, Rules = new object[] { new { Path = "/assets/**", EdgeTtlSeconds = 0 } } },
                },
            },
        });
        string ruleKey = WriteJson(new
        {
            Gateway = new { EdgeHttp = new { Cache = new { SizeLimitBytes = 10, Rules = new object[] { new { Path = "/x/**", EdgeTtlSecnds = 5 } } } } },
        });

        var problems = GatewayConfigCheck.CheckFile(values, development: true);
        var ruleKeyProblems = GatewayConfigCheck.CheckFile(ruleKey, development: true);

        Assert.That(problems, Has.Some.Contains("Gateway:EdgeHttp:Timeout"));
        Assert.That(problems, Has.Some.Contains("Gateway:EdgeHttp:Cache:SizeLimitBytes"));
        Assert.That(problems, Has.Some.Contains("Gateway:EdgeHttp:Cache:Rules:0: EdgeTtlSeconds"));
        Assert.That(ruleKeyProblems, Has.Some.Contains("Gateway:EdgeHttp:Cache:Rules:0:EdgeTtlSecnds"), "a rule key no option reads, as at start-up");
        Assert.That(ruleKeyProblems, Has.Some.Contains("Gateway:EdgeHttp:Cache:SizeLimitBytes"), "and the cache's other settings");
        Assert.That(problems.Concat(ruleKeyProblems), Has.None.Contains("\n"));
    }

    private static object AppSettings(int port, string? sharedKey = GatewayFixture.SharedKey) => new
    {
        Gateway = new
        {
            BindAddress = "127.0.0.1",
            HttpPort = port,
            PublicKeyPath = GatewayFixture.PublicKeyPath,
            Health = new { AgentPort = -1 },
            Backhaul = sharedKey is null
                ? (object)new { Endpoints = new[] { "127.0.0.1:1" } }
                : new { Endpoints = new[] { "127.0.0.1:1" }, SharedKey = sharedKey },
        },
    };

    /// <summary>A copy of the built gateway's folder with <paramref name="appSettings"/> as its appsettings.json.</summary>
    private string CopyGateway(object appSettings)
    {
        string source = Path.GetDirectoryName(Repo.GatewayDll)!;
        if (Repo.MissingBuild() is { } missing)
        {
            Assert.Ignore(missing);
        }

        string target = Folder("relay-gateway-bin-");
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }

        File.WriteAllText(Path.Combine(target, GatewayConfiguration.AppSettingsFile), JsonSerializer.Serialize(appSettings));
        return Path.Combine(target, "Relay.Gateway.dll");
    }

    private string WriteJson(object value)
    {
        string path = Path.Combine(Folder("relay-config-"), "gateway.json");
        File.WriteAllText(path, "// a comment, as relay init writes them\n" + JsonSerializer.Serialize(value));
        return path;
    }

    private static string WriteSecret(string folder, string name, string text)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return path;
    }

    private static Task<bool> ListensOnAsync(HostProcess gateway, int port) =>
        gateway.WaitForOutputAsync($"Now listening on: http://127.0.0.1:{port}", s_timeout);

    private static string Describe(HostProcess gateway) => string.Join('\n', gateway.Output.Concat(gateway.Error));
}
