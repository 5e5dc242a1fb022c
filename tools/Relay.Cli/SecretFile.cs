using Relay.WireGuard.Keys;

namespace Relay.Cli;

/// <summary>Files the CLI writes: secrets 0600 from the moment they exist, never over an existing file unless asked.</summary>
internal static class SecretFile
{
    /// <summary>Writes a secret (one line) readable only by its owner; refuses an existing file unless <paramref name="force"/>.</summary>
    public static void Write(string path, string secret, bool force)
    {
        Refuse(path, force);
        WireGuardKeyFile.WriteSecret(path, secret + "\n");
    }

    /// <summary>Writes a file anyone may read (a public key, a config without secrets); refuses an existing file unless <paramref name="force"/>.</summary>
    public static void WritePublic(string path, string text, bool force)
    {
        Refuse(path, force);
        File.WriteAllText(path, text.EndsWith('\n') ? text : text + "\n");
    }

    private static void Refuse(string path, bool force)
    {
        if (!force && File.Exists(path))
        {
            throw new CliError($"{path} exists; use --force to replace it");
        }

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new CliError($"{folder} does not exist");
        }
    }
}
