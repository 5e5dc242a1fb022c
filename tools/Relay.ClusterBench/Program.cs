using Relay.ClusterBench;

// Relay.ClusterBench [spike [--messages N] [--senders N]] | [cluster [--sessions N] [--seconds S]]
string mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "cluster";
int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) && v > 0 && v <= 10_000_000 ? v : fallback;
}

using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(15));
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
if (Relay.Testing.Cluster.RedisProcess.Missing is { } missing)
{
    Console.Error.WriteLine("cluster-bench: " + missing);
    return 2;
}

string markdown = mode switch
{
    "spike" => await Spike.RunAsync(Option("--messages", 40_000), Option("--senders", 8), cts.Token),
    "cluster" => await ClusterRun.RunAsync(Option("--sessions", 40), Option("--seconds", 12), Option("--room-size", 4), cts.Token),
    _ => throw new ArgumentException($"mode: spike or cluster; was '{mode}'"),
};
Console.WriteLine(markdown);
return 0;
