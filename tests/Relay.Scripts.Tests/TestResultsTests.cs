using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>
/// The closing lines of a test run (`./build.sh results DIR`, the same code `./build.sh test` ends with, and build.ps1's
/// twin) read from a folder of TRX files and the JavaScript suites' log: what a CI log's tail shows a developer.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TestResultsTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("relay-results-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [Test]
    [CancelAfter(360_000)]
    public async Task AFailedTest_IsNamedWithItsMessage_RightAboveTheCounts_ByBothScripts(CancellationToken ct)
    {
        Trx("Relay.Alpha.Tests", ("Echo_Works", "Passed", null), ("Gauge_CountsEverySession", "Failed", "  Expected: 2000\n  But was:  1999\n"));
        Trx("Relay.Beta.Tests", ("Drain_MovesEveryone(\"a&b\")", "Passed", null));
        JsLog("not ok 3 - widget reconnects after a drain", "js-tests: 2 passed, 1 failed, 0 skipped");

        foreach (var (script, result) in await BothAsync(ct))
        {
            string[] lines = Lines(result.StdOut);
            Assert.Multiple(() =>
            {
                Assert.That(result.ExitCode, Is.EqualTo(1), $"{script}: a failed test fails the run\n{result.StdOut}{result.StdErr}");
                Assert.That(lines[^1], Is.EqualTo("tests: 4 passed, 2 failed, 0 skipped"), script);
                Assert.That(lines[..^1], Is.EqualTo(new[]
                {
                    "failed tests:",
                    "  Relay.Alpha.Tests: Gauge_CountsEverySession — Expected: 2000 But was: 1999",
                    "  js: not ok 3 - widget reconnects after a drain",
                }), $"{script}: the failed tests, in the lines right above the counts");
            });
        }
    }

    [Test]
    [CancelAfter(360_000)]
    public async Task EverythingPassed_IsOneLine_ExitZero_AndUnderCiATestThatDidNotRunIsAFailure(CancellationToken ct)
    {
        Trx("Relay.Alpha.Tests", ("Echo_Works", "Passed", null), ("Tunnel_NeedsRoot", "NotExecuted", "needs root"));
        JsLog("js-tests: 5 passed, 0 failed, 0 skipped");

        foreach (var (script, result) in await BothAsync(ct))
        {
            Assert.That((result.ExitCode, Lines(result.StdOut)), Is.EqualTo((0, new[] { "tests: 6 passed, 0 failed, 1 skipped" })), $"{script}\n{result.StdErr}");
            Assert.That(result.StdErr, Does.Contain("Relay.Alpha.Tests: Tunnel_NeedsRoot — needs root"), $"{script}: the skipped test, named");
        }

        foreach (var (script, result) in await BothAsync(ct, ci: true))
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), script);
            Assert.That(Lines(result.StdOut)[^1], Is.EqualTo("tests: 6 passed, 1 failed, 0 skipped"), $"{script}: CI=true\n{result.StdErr}");
        }
    }

    [Test]
    [CancelAfter(360_000)]
    public async Task NoClosingLineFromTheJavaScriptSuites_IsAFailure_SaidOnStderr(CancellationToken ct)
    {
        Trx("Relay.Alpha.Tests", ("Echo_Works", "Passed", null));

        foreach (var (script, result) in await BothAsync(ct))
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), script);
            Assert.That(Lines(result.StdOut)[^1], Is.EqualTo("tests: 1 passed, 1 failed, 0 skipped"), script);
            Assert.That(result.StdErr, Does.Contain("no closing line from the JavaScript tests"), script);
        }
    }

    private async Task<(string Script, ProcessResult Result)[]> BothAsync(CancellationToken ct, bool ci = false)
    {
        var env = new Dictionary<string, string> { ["CI"] = ci ? "true" : "false" };
        string pwsh = await Pwsh.PathAsync(ct);
        var sh = await ProcessRunner.RunAsync("bash", [Path.Combine(Repo.Root, "build.sh"), "results", _dir], ct, Repo.Root, env);
        var ps1 = await ProcessRunner.RunAsync(pwsh, ["-NoLogo", "-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo.Root, "build.ps1"), "results", _dir], ct, Repo.Root, env);
        return [("build.sh", sh), ("build.ps1", ps1)];
    }

    private static string[] Lines(string output) => output.Replace("\r", string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A TRX file as dotnet test's logger writes it: per-test results, then the counters.</summary>
    private void Trx(string project, params (string Name, string Outcome, string? Message)[] results)
    {
        static string Escape(string s) => System.Security.SecurityElement.Escape(s);
        var body = results.Select(r => r.Message is null
            ? $"    <UnitTestResult testName=\"{Escape(r.Name)}\" outcome=\"{r.Outcome}\" />"
            : $"    <UnitTestResult testName=\"{Escape(r.Name)}\" outcome=\"{r.Outcome}\">\n      <Output>\n        <ErrorInfo>\n          <Message>{Escape(r.Message)}</Message>\n        </ErrorInfo>\n      </Output>\n    </UnitTestResult>");
        int Count(string outcome) => results.Count(r => r.Outcome == outcome);
        string xml = $"""
            <?xml version="1.0" encoding="utf-8"?>
            <TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
              <Results>
            {string.Join('\n', body)}
              </Results>
              <ResultSummary outcome="{(Count("Failed") > 0 ? "Failed" : "Completed")}">
                <Counters total="{results.Length}" executed="{results.Length - Count("NotExecuted")}" passed="{Count("Passed")}" failed="{Count("Failed")}" error="0" timeout="0" aborted="0" inconclusive="0" passedButRunAborted="0" notRunnable="0" notExecuted="{Count("NotExecuted")}" disconnected="0" warning="0" completed="0" inProgress="0" pending="0" />
              </ResultSummary>
            </TestRun>
            """;
        File.WriteAllText(Path.Combine(_dir, project + ".trx"), xml);
    }

    private void JsLog(params string[] lines) =>
        File.WriteAllText(Path.Combine(_dir, "js-tests.log"), "== sdk\n# tests 3\n" + string.Join('\n', lines) + "\n");
}
