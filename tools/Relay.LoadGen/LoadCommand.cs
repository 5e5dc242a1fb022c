namespace Relay.LoadGen;

/// <summary>A parsed command line: the run's options, and whether one process runs them once per line of stdin.</summary>
internal sealed class LoadCommand
{
    public LoadOptions Options { get; } = new();

    /// <summary>--rounds-from-stdin: a run per line "URL OUT_DIR [READY_FILE]".</summary>
    public bool RoundsFromStdin { get; set; }
}
