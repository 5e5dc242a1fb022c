namespace Relay.Cli;

/// <summary>An expected failure (unreachable URL, refused file, bad argument): one line on standard error and <see cref="ExitCode"/>.</summary>
internal sealed class CliError(string message, int exitCode = RelayCli.ExitError) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
