namespace Relay.Testing.Processes;

/// <summary>The gateway and core-sim as processes, from their built dlls (<see cref="Repo.MissingBuild"/> says when they are not).</summary>
public static class RelayProcesses
{
    /// <summary>The command line that runs the built gateway with <paramref name="arguments"/>.</summary>
    public static string[] Gateway(params IEnumerable<string> arguments) => ["dotnet", Repo.GatewayDll, .. arguments];

    /// <summary>The command line that runs the built core-sim with <paramref name="arguments"/>.</summary>
    public static string[] CoreSim(params IEnumerable<string> arguments) => ["dotnet", Repo.CoreSimDll, .. arguments];

    /// <summary>Starts the built gateway in this network namespace.</summary>
    public static ChildProcess StartGateway(string name, string? logPath, params IEnumerable<string> arguments) =>
        ChildProcess.Start(name, Gateway(arguments), logPath);

    /// <summary>Starts the built core-sim in this network namespace.</summary>
    public static ChildProcess StartCoreSim(string name, string? logPath, params IEnumerable<string> arguments) =>
        ChildProcess.Start(name, CoreSim(arguments), logPath);
}
