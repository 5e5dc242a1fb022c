using System.Globalization;

namespace Relay.ClusterBench;

/// <summary>CPU time of a process by pid from /proc (user + system), for the broker's and the nodes' added CPU.</summary>
internal static class ProcCpu
{
    private static readonly double s_tick = 1.0 / 100; // USER_HZ on Linux

    public static TimeSpan Of(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks * s_tick);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    public static TimeSpan Self() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
}
