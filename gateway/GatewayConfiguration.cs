using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using Relay.Contracts.Configuration;
using Relay.Gateway.Configuration;

namespace Relay.Gateway;

/// <summary>
/// Where the gateway's configuration comes from (issue 19), later sources winning: <c>appsettings.json</c> (and
/// <c>appsettings.{Environment}.json</c>) beside the binary, not in the current directory; the system file
/// (<see cref="SystemConfigPath"/>, when it exists) or instead the file named by <c>--config FILE</c> (which must
/// exist); environment variables (<c>Gateway__X</c>); the command line (<c>--Gateway:X=…</c>). A secret option also
/// takes a file (<see cref="SecretKeys"/> with "File" appended, e.g. <c>Gateway:Backhaul:SharedKeyFile</c>): read at
/// start, trimmed, refused when every user may read it.
/// </summary>
public static class GatewayConfiguration
{
    /// <summary>The settings file beside the binary.</summary>
    public const string AppSettingsFile = "appsettings.json";

    /// <summary>Appended to a secret's key: the key of the file it may be read from instead.</summary>
    public const string FileSuffix = "File";

    /// <summary>Largest secret file read (a secret is one line).</summary>
    public const int MaxSecretFileBytes = SecretFiles.MaxBytes;

    /// <summary>The system configuration file: /etc/relay/gateway.json (Windows: %ProgramData%\Relay\gateway.json).</summary>
    public static string SystemConfigPath { get; } = OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "Relay", "gateway.json")
        : "/etc/relay/gateway.json";

    /// <summary>The secret settings; each also takes <c>&lt;key&gt;File</c>, a file holding it.</summary>
    public static IReadOnlyList<string> SecretKeys { get; } =
    [
        "Gateway:Backhaul:SharedKey",
        "Gateway:AdminKey",
        "Gateway:CertificatePassword",
    ];

    /// <summary>
    /// Takes <c>--config FILE</c> (or <c>--config=FILE</c>) out of <paramref name="args"/>; returns the file, or null
    /// when not given. Throws <see cref="OptionsValidationException"/> (one line) when the option has no value.
    /// </summary>
    public static string? TakeConfigArgument(ref string[] args)
    {
        string? file = null;
        var rest = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "--config" or "-c")
            {
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw Error("--config needs a file: --config /etc/relay/gateway.json");
                }

                file = args[++i];
            }
            else if (arg.StartsWith("--config=", StringComparison.Ordinal))
            {
                file = arg["--config=".Length..];
                if (file.Length == 0)
                {
                    throw Error("--config needs a file: --config /etc/relay/gateway.json");
                }
            }
            else
            {
                rest.Add(arg);
            }
        }

        args = [.. rest];
        return file;
    }

    /// <summary>
    /// Puts the gateway's files in order in <paramref name="builder"/>'s configuration: the content root's
    /// appsettings files are replaced by those beside the binary, then <paramref name="configFile"/> (required) or
    /// else <paramref name="systemConfigPath"/> (when it exists), all below the environment variables and the command
    /// line; then the secret files. Throws <see cref="OptionsValidationException"/> with one line on a missing
    /// <c>--config</c> file, a file that is not JSON, or a secret file that cannot be used.
    /// </summary>
    internal static void Apply(WebApplicationBuilder builder, string? configFile, string? systemConfigPath)
    {
        IConfigurationBuilder configuration = builder.Configuration;
        var files = new List<(string Path, bool Optional)>
        {
            (Path.Combine(AppContext.BaseDirectory, AppSettingsFile), true),
            (Path.Combine(AppContext.BaseDirectory, $"appsettings.{builder.Environment.EnvironmentName}.json"), true),
        };
        if (configFile is not null)
        {
            string full = Path.GetFullPath(configFile);
            switch (Probe(full, out string? why))
            {
                case FileState.Missing:
                    throw Error($"--config {configFile}: no such file");
                case FileState.Unreadable:
                    throw Error($"--config {configFile}: cannot be read by user {Environment.UserName}: {why}");
            }

            files.Add((full, false));
        }
        else if (systemConfigPath is not null)
        {
            // A system file this user cannot read (/etc/relay is root:relay 0750) is an error, not a missing file: a
            // review found it skipped silently, the gateway started from defaults and stopped on an unrelated setting.
            switch (Probe(systemConfigPath, out string? why))
            {
                case FileState.Readable:
                    files.Add((systemConfigPath, false));
                    break;
                case FileState.Unreadable:
                    throw Error($"{systemConfigPath}: cannot be read by user {Environment.UserName}: {why} (the package's relay-gateway service runs in group relay; or give --config FILE)");
            }
        }

        var sources = configuration.Sources;
        for (int i = sources.Count - 1; i >= 0; i--)
        {
            if (sources[i] is JsonConfigurationSource)
            {
                sources.RemoveAt(i); // the content root's (the current directory's) appsettings files
            }
        }

        int at = 0;
        while (at < sources.Count && !(sources[at] is EnvironmentVariablesConfigurationSource { Prefix: null or "" }))
        {
            at++;
        }

        foreach (var (path, optional) in files)
        {
            try
            {
                sources.Insert(at++, Json(path, optional));
            }
            catch (InvalidDataException e)
            {
                throw Error($"{path}: not valid JSON: {FirstLine(e.InnerException?.Message ?? e.Message)}");
            }
        }

        var secrets = ResolveSecretFiles((IConfigurationRoot)builder.Configuration, out string? error);
        if (error is not null)
        {
            throw Error(error);
        }

        if (secrets.Count > 0)
        {
            configuration.Add(new MemoryConfigurationSource { InitialData = secrets });
        }
    }

    /// <summary>
    /// For each secret whose latest setting (in source order) is its file option, the secret read from that file.
    /// <paramref name="error"/> is one line when a file cannot be used or both are set in one source (the first such).
    /// </summary>
    public static Dictionary<string, string?> ResolveSecretFiles(IConfigurationRoot configuration, out string? error)
    {
        var errors = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var secrets = ResolveSecretFiles(configuration, errors);
        error = errors.Values.FirstOrDefault();
        return secrets;
    }

    /// <summary>As <see cref="ResolveSecretFiles(IConfigurationRoot, out string?)"/>, every problem: secret key → one line.</summary>
    public static Dictionary<string, string?> ResolveSecretFiles(IConfigurationRoot configuration, IDictionary<string, string> errors)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(errors);
        var secrets = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (string key in SecretKeys)
        {
            string fileKey = key + FileSuffix;
            foreach (var provider in configuration.Providers.Reverse())
            {
                bool hasFile = provider.TryGet(fileKey, out string? path) && !string.IsNullOrEmpty(path);
                bool hasValue = provider.TryGet(key, out string? value) && !string.IsNullOrEmpty(value);
                if (hasFile && hasValue)
                {
                    errors[key] = $"{key} and {fileKey} are both set; set one";
                    break;
                }

                if (hasFile)
                {
                    if (ReadSecretFile(fileKey, path!, out string? error) is { } secret)
                    {
                        secrets[key] = secret;
                    }
                    else
                    {
                        errors[key] = error!;
                    }

                    break;
                }

                if (hasValue)
                {
                    break; // set directly in a later source than any file option
                }
            }
        }

        return secrets;
    }

    /// <summary>Reads a secret file (<see cref="SecretFiles.Read"/>).</summary>
    public static string? ReadSecretFile(string fileKey, string path, out string? error) => SecretFiles.Read(fileKey, path, out error);

    private enum FileState
    {
        Readable,
        Missing,
        Unreadable,
    }

    /// <summary>Whether this process can open <paramref name="path"/> for reading (File.Exists says false for both a
    /// missing file and one in a folder this user cannot enter).</summary>
    private static FileState Probe(string path, out string? why)
    {
        why = null;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return FileState.Readable;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return FileState.Missing;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            why = Directory.Exists(path) ? "it is a folder" : FirstLine(e.Message);
            return FileState.Unreadable;
        }
    }

    private static JsonConfigurationSource Json(string path, bool optional)
    {
        var source = new JsonConfigurationSource { Path = path, Optional = optional, ReloadOnChange = false };
        source.ResolveFileProvider();
        return source;
    }

    private static string FirstLine(string text) => text.ReplaceLineEndings("\n").Split('\n')[0];

    private static OptionsValidationException Error(string message) =>
        new(GatewayOptions.Section, typeof(GatewayOptions), [message]);
}
