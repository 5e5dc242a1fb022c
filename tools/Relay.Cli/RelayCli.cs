using System.CommandLine;
using Relay.Cli.Commands;

namespace Relay.Cli;

/// <summary>
/// The <c>relay</c> operator CLI (issue 19): keygen, init, check, status, drain, undrain, fleet. Every command takes
/// <c>--json</c>. Exit codes: 0 done; 1 the answer is no (problems found, drain refused, relay not ready);
/// 2 an error (usage, unreachable URL, unauthorized, a file that exists or cannot be read), one line on standard error.
/// </summary>
public static class RelayCli
{
    public const int ExitOk = 0;
    public const int ExitNo = 1;
    public const int ExitError = 2;

    /// <summary>Runs the CLI on <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool interactive = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var json = new Option<bool>("--json") { Description = "machine output: one JSON document with stable field names", Recursive = true };
        var root = new RootCommand("relay: set up, check and operate a Relay region's gateway (issue 19)") { json };
        CliOutput Output(ParseResult p) => new(output, error, p.GetValue(json), interactive);
        root.Add(KeygenCommand.Create(Output));
        root.Add(InitCommand.Create(Output));
        root.Add(CheckCommand.Create(Output));
        root.Add(StatusCommand.Create(Output));
        root.Add(DrainCommand.Create(Output, drain: true));
        root.Add(DrainCommand.Create(Output, drain: false));
        root.Add(FleetCommand.Create(Output));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var problem in parsed.Errors)
            {
                await error.WriteLineAsync($"relay: {problem.Message}").ConfigureAwait(false);
            }

            await error.WriteLineAsync("relay: see relay --help").ConfigureAwait(false);
            return ExitError;
        }

        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (CliError e)
        {
            await error.WriteLineAsync($"relay: {e.Message}").ConfigureAwait(false);
            return e.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"relay: {e.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
            return ExitError;
        }
    }
}
