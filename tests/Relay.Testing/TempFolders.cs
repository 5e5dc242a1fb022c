namespace Relay.Testing;

/// <summary>
/// Temporary folders for a test's files (keys, logs, configs). Each is removed when the test process exits, whether
/// its tests passed or failed, so nothing a test made (some hold private keys) stays behind in /tmp.
/// </summary>
public static class TempFolders
{
    private static readonly List<string> s_folders = [];

    /// <summary>Beside each folder: the process that made it, so a later test process can remove what a killed one left.</summary>
    private const string OwnerSuffix = ".relay-test-owner";

    static TempFolders()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RemoveAll();
        RemoveOrphans();
    }

    /// <summary>A new folder under the temporary path, named <paramref name="prefix"/> and a random suffix.</summary>
    public static string Create(string prefix)
    {
        string path = Directory.CreateTempSubdirectory(prefix).FullName;
        File.WriteAllText(path + OwnerSuffix, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        lock (s_folders)
        {
            s_folders.Add(path);
        }

        return path;
    }

    /// <summary>
    /// Folders whose test process is gone without its exit handler: a host the runner killed (the blame collector after
    /// a hang, a crash) runs none, and its folders, private keys among them, stayed in /tmp. Removed by the next test
    /// process that makes a folder; a folder whose owner still runs (another test process) is left alone.
    /// </summary>
    public static void RemoveOrphans()
    {
        try
        {
            foreach (string owner in Directory.EnumerateFiles(Path.GetTempPath(), "*" + OwnerSuffix))
            {
                if (int.TryParse(File.ReadAllText(owner), System.Globalization.CultureInfo.InvariantCulture, out int pid) && IsRunning(pid))
                {
                    continue;
                }

                string path = owner[..^OwnerSuffix.Length];
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                File.Delete(owner);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort: the next test process tries again
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
    }

    /// <summary>Removes <paramref name="path"/> (made by <see cref="Create"/>) now, not at process exit: a test host that
    /// is stopped rather than exiting runs no exit handler, and some folders hold private keys.</summary>
    public static void Remove(string path)
    {
        lock (s_folders)
        {
            s_folders.Remove(path);
        }

        try
        {
            File.Delete(path + OwnerSuffix);
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort: a process still writing into it
        }
    }

    /// <summary>Removes every folder made so far: at process exit, and from a test assembly's one-time teardown where its
    /// runner may stop the test host before the exit handlers run (the gateway tests' host left 17 folders, keys among
    /// them, after a plain <c>dotnet test</c>).</summary>
    public static void RemoveAll()
    {
        lock (s_folders)
        {
            foreach (string path in s_folders)
            {
                try
                {
                    File.Delete(path + OwnerSuffix); // also when a test deleted the folder itself
                    Directory.Delete(path, recursive: true);
                }
                catch (IOException)
                {
                    // a process still writing into it: best effort at exit
                }
                catch (UnauthorizedAccessException)
                {
                }
            }

            s_folders.Clear();
        }
    }
}
