using System.Globalization;

namespace Relay.Contracts.Configuration;

/// <summary>The process's open-file limit (RLIMIT_NOFILE, soft), read from /proc/self/limits: the gateway's and core-sim's connection caps.</summary>
public static class FileLimit
{
    /// <summary>The soft limit on open files; null when it cannot be read (not Linux) or is unlimited.</summary>
    public static long? OpenFiles()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                // "Max open files            20000                20000                files"
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long soft) ? soft : null;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
