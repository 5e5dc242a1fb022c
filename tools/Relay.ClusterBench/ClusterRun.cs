namespace Relay.ClusterBench;

internal static class ClusterRun
{
    public static Task<string> RunAsync(int sessions, int seconds, int roomSize, CancellationToken ct) => Task.FromResult("todo");
}
