namespace Relay.Contracts.Configuration;

/// <summary>Secret files (a key on one line): the gateway's <c>…File</c> options, the relay CLI's key files, core-sim's
/// CoreSim:RelayKeysDirectory.</summary>
public static class SecretFiles
{
    /// <summary>Largest secret file read (a secret is one line).</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>
    /// Reads a secret file: trimmed text; null and one line in <paramref name="error"/> naming <paramref name="fileKey"/>
    /// when it does not exist, cannot be read, is empty or too big, or (Unix) every user may read or write it.
    /// Group read is allowed (0640 root:relay is how a service account reads it).
    /// </summary>
    public static string? Read(string fileKey, string path, out string? error)
    {
        error = null;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                error = $"{fileKey}: '{path}' does not exist";
                return null;
            }

            if (!OperatingSystem.IsWindows())
            {
                var mode = File.GetUnixFileMode(path);
                if ((mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
                {
                    error = $"{fileKey}: '{path}' holds a secret but every user may read it (mode {System.Convert.ToString((int)mode, 8)}); run: chmod 600 '{path}' (or 640 with the service's group)";
                    return null;
                }
            }

            if (info.Length > MaxBytes)
            {
                error = $"{fileKey}: '{path}' is {info.Length} bytes; a secret file holds one line (at most {MaxBytes} bytes)";
                return null;
            }

            string secret = File.ReadAllText(path).Trim();
            if (secret.Length == 0)
            {
                error = $"{fileKey}: '{path}' is empty";
                return null;
            }

            return secret;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"{fileKey}: cannot read '{path}': {FirstLine(e.Message)}";
            return null;
        }
    }

    private static string FirstLine(string text) => text.ReplaceLineEndings("\n").Split('\n')[0];
}
