using System.Runtime.InteropServices;

namespace Relay.AttackBench;

/// <summary>The two libc calls the bench needs: the open-file limit and SIGTERM by pid.</summary>
internal static partial class Native
{
    private const int RlimitNofile = 7; // Linux
    private const int Sigterm = 15;

    /// <summary>Raises this process's open-file soft limit to its hard limit (children inherit it); returns the new
    /// soft limit, or -1 where this is not Linux.</summary>
    public static long RaiseOpenFileLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }

        var limit = default(RLimit);
        if (GetRLimit(RlimitNofile, ref limit) != 0)
        {
            return -1;
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            if (SetRLimit(RlimitNofile, ref raised) == 0)
            {
                limit = raised;
            }
        }

        return limit.Current > long.MaxValue ? long.MaxValue : (long)limit.Current;
    }

    /// <summary>SIGTERM to one process (ours, by pid).</summary>
    public static void Terminate(int pid)
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            _ = Kill(pid, Sigterm);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private record struct RLimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, ref RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, ref RLimit limit);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
