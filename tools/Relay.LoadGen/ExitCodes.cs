namespace Relay.LoadGen;

/// <summary>The load generator's exit codes, most serious first: what a script or CI job checks after a run.</summary>
public static class ExitCodes
{
    /// <summary>Every session connected; nothing lost, duplicated or reordered.</summary>
    public const int Ok = 0;

    /// <summary>Something was lost, duplicated or reordered: the relay broke its promise.</summary>
    public const int Lost = 1;

    /// <summary>Bad arguments, or a setup step failed (no token, a report that could not be written).</summary>
    public const int Usage = 2;

    /// <summary>Nothing lost among the sessions that connected, but some never did: the run measured fewer sessions than asked.</summary>
    public const int NotConnected = 3;

    /// <summary>The code for one run's report.</summary>
    public static int For(LoadReport report) =>
        report.Lost + report.Duplicated + report.OutOfOrder > 0 ? Lost
        : report.ConnectFailures > 0 ? NotConnected
        : Ok;

    /// <summary>The more serious of two run codes (--rounds-from-stdin ends with the worst round's): a loss outranks
    /// sessions that did not connect, which outrank a clean run.</summary>
    public static int Worse(int a, int b) => Rank(a) >= Rank(b) ? a : b;

    private static int Rank(int code) => code switch
    {
        Ok => 0,
        NotConnected => 1,
        Usage => 2,
        _ => 3, // Lost, and anything unknown
    };
}
