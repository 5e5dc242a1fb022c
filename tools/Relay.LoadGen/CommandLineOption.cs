namespace Relay.LoadGen;

/// <summary>One option of the load generator's command line: what --help prints (name, value, help, default) and
/// how its value sets the run. <paramref name="Value"/> is null for a flag (then <paramref name="Apply"/> gets "").</summary>
internal sealed record CommandLineOption(string Name, string? Value, string Help, Func<LoadOptions, string> Default, Action<LoadCommand, string> Apply);
