namespace Relay.WireGuard.Keys;

/// <summary>
/// Private key files in the `wg genkey` format (one base64 line). Written with mode 0600 (owner read and
/// write only) from the moment they exist; a file that group or others can read is refused on load.
/// </summary>
public static class WireGuardKeyFile
{
    /// <summary>Owner read and write only (0600).</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Writes <paramref name="key"/> to <paramref name="path"/> (replacing it), readable only by the owner.</summary>
    public static void Write(string path, WireGuardKey key) => WriteSecret(path, key.ToBase64() + "\n");

    /// <summary>Writes secret text (a key or a .conf holding one), readable only by the owner.</summary>
    public static void WriteSecret(string path, string text)
    {
        string temp = path + ".tmp-" + Environment.ProcessId;
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly; // the file never exists with wider permissions
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Loads a private key file. Throws <see cref="ConfigException"/> naming the file when it is unreadable, malformed or too open.</summary>
    public static WireGuardKey Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"key file '{path}' does not exist", path);
        }

        EnsureOwnerOnly(path);
        string text = File.ReadAllText(path).Trim();
        return WireGuardKey.TryParseBase64(text, out var key) ? key! : throw new ConfigException($"key file '{path}' does not hold a base64 WireGuard key", path);
    }

    /// <summary>
    /// Throws <see cref="ConfigException"/> when others may read or write a secret file, or its group may write it (Unix
    /// only). Group read is allowed: 0640 root:relay is how the packaged service (user relay) reads root's secrets, as
    /// the gateway's other secret files; wg-quick, too, warns only when the world may read its file.
    /// </summary>
    public static void EnsureOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        const UnixFileMode open = UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        if ((mode & open) != 0)
        {
            throw new ConfigException($"'{path}' holds a private key but others may read it or its group may write it (mode {Convert.ToString((int)mode, 8)}); run: chmod 600 '{path}' (or chmod 640 with the service's group)", path);
        }
    }
}
