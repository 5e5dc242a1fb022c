using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>build.ps1 (Windows' build script) against build.sh: the same verbs, and its run verb as an operator uses it.</summary>
[TestFixture]
[NonParallelizable]
public sealed partial class BuildPs1Tests
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Test]
    [CancelAfter(360_000)]
    public async Task Help_ListsEveryVerbOfBuildSh_EachWithASentence(CancellationToken ct)
    {
        var ps1 = await Pwsh.BuildPs1Async(ct, "help");
        var sh = await ProcessRunner.RunAsync("bash", [Path.Combine(Repo.Root, "build.sh"), "help"], ct, Repo.Root);
        Assert.That(ps1.ExitCode, Is.Zero, ps1.StdErr);
        Assert.That(sh.ExitCode, Is.Zero, sh.StdErr);
        var ps1Verbs = Verbs(ps1.StdOut);
        var shVerbs = Verbs(sh.StdOut);
        // publish: issue 19 puts it in both scripts (build.sh's comes with the package work); build.ps1 must have it either way.
        var expected = new SortedSet<string>(shVerbs.Keys, StringComparer.Ordinal) { "publish" };
        Assert.Multiple(() =>
        {
            Assert.That(shVerbs.Keys, Is.SupersetOf(new[] { "build", "test", "run", "load", "bench", "help" }), "build.sh help, parsed:\n" + sh.StdOut);
            Assert.That(ps1Verbs.Keys, Is.EquivalentTo(expected), "build.ps1 help vs build.sh help (a verb added to one script needs the other too):\n" + ps1.StdOut + "\n---\n" + sh.StdOut);
            foreach (var (verb, sentence) in ps1Verbs)
            {
                Assert.That(sentence, Has.Length.GreaterThan(8), $"build.ps1 help: '{verb}' needs a sentence");
            }
        });
    }

    [Test]
    [CancelAfter(360_000)]
    public async Task UnknownVerb_Exit2_WithTheUsage_AndRunHelp_NamesItsPortOptions(CancellationToken ct)
    {
        var unknown = await Pwsh.BuildPs1Async(ct, "no-such-verb");
        var runHelp = await Pwsh.BuildPs1Async(ct, "run", "--help");
        var badPort = await Pwsh.BuildPs1Async(ct, "run", "--gateway-port", "http");
        Assert.Multiple(() =>
        {
            Assert.That(unknown.ExitCode, Is.EqualTo(2));
            Assert.That(unknown.StdErr, Does.Contain("usage: ./build.ps1 VERB"));
            Assert.That(runHelp.ExitCode, Is.Zero, runHelp.StdErr);
            Assert.That(runHelp.StdOut, Does.Contain("--core-port").And.Contain("--gateway-port").And.Contain("/readyz"));
            Assert.That(badPort.ExitCode, Is.EqualTo(2));
            Assert.That(badPort.StdErr.Trim(), Is.EqualTo("run: --gateway-port needs a port (1-65535); see ./build.ps1 run --help"));
        });
    }

    [Test]
    [CancelAfter(360_000)]
    public async Task Run_PortTaken_RefusesInOneLine_NamingTheHolder_BeforeStartingAnything(CancellationToken ct)
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int taken = ((IPEndPoint)holder.LocalEndpoint).Port;
        var result = await Pwsh.BuildPs1Async(ct, "run", "--core-port", Ports.Free().ToString(CultureInfo.InvariantCulture),
            "--backhaul-port", Ports.Free().ToString(CultureInfo.InvariantCulture), "--gateway-port", taken.ToString(CultureInfo.InvariantCulture),
            "--agent-port", Ports.Free().ToString(CultureInfo.InvariantCulture));
        string[] errors = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(errors, Has.Length.EqualTo(1), result.StdErr);
            Assert.That(errors.FirstOrDefault(), Does.StartWith($"run: port {taken} is taken by "));
            Assert.That(result.StdOut, Does.Not.Contain("building"), "refused before building or starting anything");
        });
        if (OperatingSystem.IsLinux())
        {
            Assert.That(errors[0], Does.Contain($"(pid {Environment.ProcessId})"), "names the process holding the port");
        }
    }

    [Test]
    [CancelAfter(600_000)]
    public async Task Run_PrintsRunning_OnceTheGatewayIsReady_InItsOwnFolder_AndCtrlCStopsBoth(CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("this test stops build.ps1 run with SIGINT (Linux); on Windows Ctrl-C does the same by hand");
        }

        string pwsh = await Pwsh.PathAsync(ct);
        int core = Ports.Free(), backhaul = Ports.Free(), gateway = Ports.Free(), agent = Ports.Free();
        string[] ports = [.. new[] { "--core-port", "--backhaul-port", "--gateway-port", "--agent-port" }
            .Zip(new[] { core, backhaul, gateway, agent }, (o, p) => new[] { o, p.ToString(CultureInfo.InvariantCulture) }).SelectMany(x => x)];
        // env --default-signal=INT: a terminal's foreground job never has SIGINT ignored, but a test host started from a
        // background job (`cmd &` in a script) has, and an ignored signal stays ignored across exec: pwsh would never see it.
        using var run = ChildProcess.Start("build.ps1 run", ["env", "--default-signal=INT", pwsh, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo.Root, "build.ps1"), "run", .. ports]);
        string? folder = null;
        var pids = new List<int>();
        try
        {
            // The first run may build the solution.
            await run.WaitForOutputAsync("Ctrl-C stops both", TimeSpan.FromMinutes(8), ct);
            string output = run.Tail(60);
            using (var readyz = await s_http.GetAsync($"http://127.0.0.1:{gateway}/readyz", ct))
            {
                Assert.That(readyz.StatusCode, Is.EqualTo(HttpStatusCode.OK), "running is printed once /readyz is 200");
            }

            folder = LogsIn().Match(output).Groups[1].Value;
            Assert.That(Directory.Exists(folder), Is.True, "the run's own folder: " + output);
            pids.AddRange(new[] { "core-sim.pid", "gateway.pid" }.Select(f => int.Parse(File.ReadAllText(Path.Combine(folder, f)).Trim(), CultureInfo.InvariantCulture)));
            Assert.Multiple(() =>
            {
                Assert.That(Path.GetFileName(folder), Does.Match(@"^\d{8}-\d{6}-\d+$"));
                Assert.That(Path.GetDirectoryName(folder), Is.EqualTo(Path.Combine(Repo.Root, "artifacts", "run")));
                Assert.That(File.Exists(Path.Combine(folder, "core-public.pem")), Is.True);
                Assert.That(File.Exists(Path.Combine(folder, "gateway.log")), Is.True);
                Assert.That(output, Does.Contain($"ws://127.0.0.1:{gateway}/ws?access_token=").And.Contain($"http://127.0.0.1:{core}/"));
                Assert.That(VisitorToken().IsMatch(output), Is.True, "a visitor token is printed:\n" + output);
            });

            // Ctrl-C: build.ps1 stops core-sim and the gateway it started. A terminal sends SIGINT to the whole foreground
            // group; here it goes to pwsh only (the .NET tool's launcher and the pwsh it runs), so build.ps1 must stop both.
            string id = run.Id.ToString(CultureInfo.InvariantCulture);
            string[] pwshPids = [id, .. (ProcessRunner.TryRun("ps", "-o", "pid=", "--ppid", id) ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            foreach (string pid in pwshPids.Where(p => !pids.Contains(int.Parse(p, CultureInfo.InvariantCulture))))
            {
                ProcessRunner.TryRun("kill", "-INT", pid);
            }

            for (int i = 0; i < 300 && pids.Any(Alive); i++)
            {
                await Task.Delay(100, ct);
            }

            Assert.That(pids.Where(Alive), Is.Empty, "Ctrl-C stops both processes of the run:\n" + run.Tail(20));
        }
        finally
        {
            foreach (int pid in pids.Where(Alive))
            {
                ProcessRunner.TryRun("kill", "-KILL", pid.ToString(CultureInfo.InvariantCulture)); // only what this run started
            }

            run.Stop(TimeSpan.FromSeconds(5));
            if (folder is { Length: > 0 } && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>Verb (and bench variant) → its sentence, from a help text's "  verb [sub] [args]  sentence" lines.</summary>
    internal static SortedDictionary<string, string> Verbs(string help)
    {
        var verbs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in HelpLine().Matches(help))
        {
            string[] tokens = m.Groups["usage"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string verb = tokens.Length > 1 && LowerWord().IsMatch(tokens[1]) ? $"{tokens[0]} {tokens[1]}" : tokens[0];
            verbs[verb] = m.Groups["text"].Value.Trim();
        }

        return verbs;
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"(?m)^  (?<usage>[a-z][^\r\n]*?)\s{2,}(?<text>\S[^\r\n]*)$")]
    private static partial Regex HelpLine();

    [GeneratedRegex(@"^[a-z]+$")]
    private static partial Regex LowerWord();

    [GeneratedRegex(@"Relay is running \(logs in (.+)\):")]
    private static partial Regex LogsIn();

    [GeneratedRegex(@"A visitor token[^\n]*\n\s+ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")]
    private static partial Regex VisitorToken();
}
