namespace Relay.Steering.Tests.Harness;

internal static class Repo
{
    /// <summary>The checkout root (the folder with Relay.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Release or Debug, as this test assembly was built.</summary>
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string GatewayDll => Path.Combine(Root, "gateway", "bin", Configuration, "net10.0", "Relay.Gateway.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Relay.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Relay.sln not found above " + AppContext.BaseDirectory);
    }
}
