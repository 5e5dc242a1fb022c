using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Relay.CoreSim;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Packaging.Tests;

/// <summary>
/// packaging/docker/gateway.Dockerfile against the configuration the relay-gateway package lays out. No container
/// engine runs here, so the container is played by what it is to the kernel: the image's user (its <c>USER</c>, with the
/// groups the Dockerfile's documented <c>docker run</c> line gives it, evaluated by bash as an operator's shell would)
/// running the gateway with the host's /etc/relay mounted at /etc/relay, in a mount namespace of its own.
/// </summary>
[NonParallelizable]
public class DockerImageTests
{
    /// <summary>
    /// <c>USER $APP_UID</c>: the .NET images' non-root <c>app</c> user, uid 1654, primary group <c>app</c>, gid 1654
    /// (mcr.microsoft.com/dotnet/runtime-deps:10.0's /etc/passwd: <c>app:x:1654:1654</c>).
    /// </summary>
    private const int AppUid = 1654;

    private const int AppGid = 1654;

    private static string Dockerfile => Path.Combine(Repo.Root, "packaging", "docker", "gateway.Dockerfile");

    [Test]
    [CancelAfter(180_000)]
    public async Task GatewayImage_RunAsDocumented_WithThePackagesEtcRelayMounted_ReadsItAndGetsReady(CancellationToken token)
    {
        Require();
        string postinst = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "packaging", "deb", "postinst"), token);
        Assert.That(postinst, Does.Contain("chown root:relay /etc/relay").And.Contain("chmod 0750 /etc/relay").And.Contain("chmod 0640 /etc/relay/gateway.json"),
            "the layout this test builds is the package's: /etc/relay root:relay 0750, its files root:relay 0640");

        // The host's relay group: the real one when the package is installed here, else a gid no one uses.
        int relayGid = ProcessRunner.TryRun("getent", "group", "relay") is { } entry ? int.Parse(entry.Split(':')[2], CultureInfo.InvariantCulture) : 64_917;
        string dockerfile = await File.ReadAllTextAsync(Dockerfile, token);
        var run = await DocumentedRunAsync(dockerfile, relayGid, token);
        string user = dockerfile.Split('\n').Last(l => l.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..].Trim();
        Assert.That(user, Is.EqualTo("$APP_UID"), "the image runs as the .NET images' app user (uid 1654), not root");
        var mount = run.Mounts.SingleOrDefault(m => m.Target == "/etc/relay");
        Assert.That(mount.Source, Is.EqualTo("/etc/relay"), "the documented docker run mounts the host's /etc/relay at /etc/relay:\n" + string.Join(' ', run.Arguments));

        // The host's /etc/relay as postinst and the README's install steps leave it (the keys chgrp relay, 0640).
        string dir = TempFolders.Create("relay-docker-");
        string etcRelay = Path.Combine(dir, "etc-relay");
        Directory.CreateDirectory(etcRelay);
        string sharedKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string signing = Path.Combine(dir, "signing.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(signing, key.ExportPkcs8PrivateKeyPem(), token);
            await File.WriteAllTextAsync(Path.Combine(etcRelay, "core-public.pem"), key.ExportSubjectPublicKeyInfoPem(), token);
        }

        await using var core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
            o.SigningKeyPath = signing;
            o.RelayKeys["docker-1"] = sharedKey;
        }, token);
        int http = Ports.Free();
        await File.WriteAllTextAsync(Path.Combine(etcRelay, "backhaul.key"), sharedKey + "\n", token);
        await File.WriteAllTextAsync(Path.Combine(etcRelay, "gateway.json"), JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                BindAddress = "127.0.0.1",
                HttpPort = http,
                PublicKeyPath = "/etc/relay/core-public.pem",
                Backhaul = new { Endpoints = new[] { $"127.0.0.1:{core.BackhaulPort}" }, SharedKeyFile = "/etc/relay/backhaul.key", RelayId = "docker-1", Region = "test" },
                Health = new { AgentPort = -1 },
            },
        }), token);
        foreach (string file in Directory.GetFiles(etcRelay))
        {
            ProcessRunner.Run(["chown", $"0:{relayGid}", file]);
            ProcessRunner.Run(["chmod", "0640", file]);
        }

        ProcessRunner.Run(["chown", $"0:{relayGid}", etcRelay]);
        ProcessRunner.Run(["chmod", "0750", etcRelay]);

        // The container: /etc/relay bound in (read-only as documented), then the image's user with the groups docker
        // gives it (its primary group and each --group-add) and no capabilities, running the gateway as the
        // ENTRYPOINT does (no --config: it reads /etc/relay/gateway.json when it can see it).
        string home = Path.Combine(dir, "home");
        string upper = Path.Combine(dir, "etc-upper"), work = Path.Combine(dir, "etc-work");
        foreach (string d in new[] { home, upper, work })
        {
            Directory.CreateDirectory(d);
        }

        ProcessRunner.Run(["chown", $"{AppUid}:{AppGid}", home]);
        string groups = run.GroupAdds.Count == 0 ? "--clear-groups" : "--groups=" + string.Join(',', run.GroupAdds);
        string container = string.Join('\n',
            "set -e",
            $"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc",
            "mkdir /etc/relay",
            $"mount --bind {etcRelay} /etc/relay",
            mount.ReadOnly ? "mount -o remount,bind,ro /etc/relay" : "true",
            $"exec setpriv --reuid={AppUid} --regid={AppGid} {groups} --inh-caps=-all --bounding-set=-all -- dotnet {Repo.GatewayDll}");
        using var gateway = ChildProcess.Start("container", ["unshare", "--mount", "--propagation", "private", "--", "bash", "-c", container], logPath: null,
            new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_ENVIRONMENT"] = null, ["HOME"] = home });
        string readyz;
        try
        {
            await gateway.WaitForHttpAsync(new Uri($"http://127.0.0.1:{http}/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(60), token);
            readyz = "200";
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            readyz = e.Message;
        }

        Assert.That(readyz, Is.EqualTo("200"),
            $"the image's user (uid {AppUid}, gid {AppGid}, {groups}) reads the package's /etc/relay (root:{relayGid} 0750, files 0640) and gets ready " +
            $"(the image's HEALTHCHECK); the documented run: {string.Join(' ', run.Arguments)}\n{readyz}");
    }

    private static void Require()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Assert.Ignore("plays the container with a mount namespace and setpriv: Linux, as root");
        }

        Tools.Require("setpriv", "apt-get install util-linux");
        Tools.Require("unshare", "apt-get install util-linux");
        if (!File.Exists(Repo.GatewayDll))
        {
            Assert.Ignore($"not built: {Repo.GatewayDll}; run dotnet build Relay.sln -c {Repo.Configuration}");
        }
    }

    /// <summary>
    /// The Dockerfile's documented <c>docker run</c> (its header comment, continuation lines joined) as bash expands it
    /// on a host whose relay group is <paramref name="relayGid"/>: <c>docker</c> and <c>getent</c> are shell functions
    /// that print the arguments and answer for the group.
    /// </summary>
    private static async Task<DockerRun> DocumentedRunAsync(string dockerfile, int relayGid, CancellationToken token)
    {
        var header = dockerfile.Split('\n').TakeWhile(l => l.StartsWith('#')).Select(l => l.TrimStart('#').Trim()).ToList();
        int at = header.FindIndex(l => l.StartsWith("docker run ", StringComparison.Ordinal));
        Assert.That(at, Is.GreaterThanOrEqualTo(0), "the Dockerfile's header documents a docker run line");
        string line = header[at];
        while (line.EndsWith('\\') && ++at < header.Count)
        {
            line = line[..^1] + " " + header[at];
        }

        string shell = $$"""
            getent() { if [ "$1 $2" = "group relay" ]; then echo "relay:x:{{relayGid}}:"; else return 2; fi; }
            docker() { printf '%s\n' "$@"; }
            {{line}}
            """;
        var result = await Tools.RunAsync("bash", ["-c", shell], TimeSpan.FromSeconds(10));
        Assert.That(result.ExitCode, Is.Zero, $"{line}: {result.StdErr}");
        string[] args = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var groups = new List<string>();
        var mounts = new List<(string Source, string Target, bool ReadOnly)>();
        for (int i = 0; i < args.Length; i++)
        {
            string? value(string name) =>
                args[i] == name && i + 1 < args.Length ? args[++i] : args[i].StartsWith(name + "=", StringComparison.Ordinal) ? args[i][(name.Length + 1)..] : null;
            if (value("--group-add") is { } group)
            {
                groups.Add(group);
            }
            else if ((value("-v") ?? value("--volume")) is { } volume)
            {
                string[] parts = volume.Split(':');
                mounts.Add((parts[0], parts[1], parts.Length > 2 && parts[2].Split(',').Contains("ro")));
            }
        }

        Assert.That(groups, Has.All.Match("^[0-9]+$"), "a --group-add the image can resolve: a number (the image has no relay group)");
        return new DockerRun(args, groups, mounts);
    }

    private sealed record DockerRun(string[] Arguments, List<string> GroupAdds, List<(string Source, string Target, bool ReadOnly)> Mounts);
}
