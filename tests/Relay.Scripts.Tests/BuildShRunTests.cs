using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>
/// `./build.sh run`, the README's first command, as a user meets it: its options, its refusal when a port is taken,
/// "running" once the gateway is ready, and Ctrl-C stopping both processes (build.ps1's run has the same tests).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class BuildShRunTests
{
    private static string BuildSh => Path.Combine(Repo.Root, "build.sh");

    [Test]
    [CancelAfter(60_000)]
    public async Task Help_NamesItsPortOptions_AndABadPortIsOneLine_Exit2(CancellationToken ct)
    {
        var help = await ProcessRunner.RunAsync("bash", [BuildSh, "run", "--help"], ct, Repo.Root);
        var badPort = await ProcessRunner.RunAsync("bash", [BuildSh, "run", "--gateway-port", "http"], ct, Repo.Root);
        var unknown = await ProcessRunner.RunAsync("bash", [BuildSh, "run", "--no-such-option"], ct, Repo.Root);
        Assert.Multiple(() =>
        {
            Assert.That(help.ExitCode, Is.Zero, help.StdErr);
            Assert.That(help.StdOut, Does.Contain("--core-port").And.Contain("--backhaul-port").And.Contain("--gateway-port").And.Contain("--agent-port").And.Contain("/readyz"));
            Assert.That(badPort.ExitCode, Is.EqualTo(2));
            Assert.That(badPort.StdErr.Trim(), Is.EqualTo("run: --gateway-port needs a port (1-65535); see ./build.sh run --help"));
            Assert.That(unknown.ExitCode, Is.EqualTo(2));
            Assert.That(unknown.StdErr.Trim(), Is.EqualTo("run: unknown option --no-such-option; see ./build.sh run --help"));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PortTaken_RefusesInOneLine_NamingTheHolder_BeforeBuildingOrStartingAnything(CancellationToken ct)
    {
        await RunVerb.AssertRefusesATakenPortAsync(args => ProcessRunner.RunAsync("bash", [BuildSh, .. args], ct, Repo.Root));
    }

    [Test]
    [CancelAfter(600_000)]
    public async Task Run_PrintsRunning_OnceTheGatewayIsReady_OnTheGivenPorts_AndCtrlCStopsBoth(CancellationToken ct)
    {
        int core = Ports.Free(), backhaul = Ports.Free(), gateway = Ports.Free(), agent = Ports.Free();
        // env --default-signal=INT: a terminal's foreground job never has SIGINT ignored, but a test host started from a
        // background job (`cmd &` in a script) has, and an ignored signal stays ignored across exec.
        using var run = ChildProcess.Start("build.sh run", ["env", "--default-signal=INT", "bash", BuildSh, "run", .. RunVerb.PortArgs(core, backhaul, gateway, agent)]);
        string? folder = null;
        var pids = new List<int>();
        try
        {
            folder = await RunVerb.WaitUntilRunningAsync(run, core, gateway, pids, ct);

            // Ctrl-C: a terminal sends SIGINT to the whole foreground group; here it goes to the script's bash only, so
            // the script must stop both processes itself.
            ProcessRunner.TryRun("kill", "-INT", run.Id.ToString(CultureInfo.InvariantCulture));
            await RunVerb.WaitUntilGoneAsync(pids, ct);
            Assert.That(pids.Where(RunVerb.Alive), Is.Empty, "Ctrl-C stops both processes of the run:\n" + run.Tail(20));
        }
        finally
        {
            RunVerb.CleanUp(run, pids, folder);
        }
    }
}
