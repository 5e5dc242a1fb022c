namespace Relay.Testing;

/// <summary>Where things are in the checkout: its root and the built gateway and core-sim.</summary>
public static class Repo
{
    /// <summary>The checkout root (the folder with Relay.sln), searched above this assembly, then above the current directory.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Release or Debug, as this assembly was built (the gateway and core-sim are taken from the same configuration).</summary>
    public static string Configuration { get; } =
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public static string GatewayDll => Path.Combine(Root, "gateway", "bin", Configuration, "net10.0", "Relay.Gateway.dll");

    public static string CoreSimDll => Path.Combine(Root, "core-sim", "bin", Configuration, "net10.0", "Relay.CoreSim.dll");

    /// <summary>The regions lab's users process (tests/Relay.Testing.Users), run inside a users namespace.</summary>
    public static string UsersDll => Path.Combine(Root, "tests", "Relay.Testing.Users", "bin", Configuration, "net10.0", "Relay.Testing.Users.dll");

    /// <summary>Null when the gateway and core-sim are built; otherwise what to run.</summary>
    public static string? MissingBuild()
    {
        string[] missing = [.. new[] { GatewayDll, CoreSimDll, UsersDll }.Where(p => !File.Exists(p))];
        return missing.Length == 0 ? null : $"not built: {string.Join(", ", missing)}; run dotnet build Relay.sln -c {Configuration}";
    }

    private static string FindRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Relay.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException($"Relay.sln not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");
    }
}
