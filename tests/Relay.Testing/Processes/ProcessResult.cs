namespace Relay.Testing.Processes;

/// <summary>What a finished process wrote and returned.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);
