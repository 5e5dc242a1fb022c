using Relay.Testing.Processes;

namespace Relay.Testing.Regions;

/// <summary>Real <c>dig</c> queries (bind9-dnsutils): from this namespace or, with <c>ip netns exec</c>, from another.</summary>
public static class Dig
{
    public static string? Executable => new[] { "/usr/bin/dig", "/bin/dig" }.FirstOrDefault(File.Exists);

    /// <summary>
    /// The sorted A records for <paramref name="name"/> from <paramref name="server"/>:<paramref name="port"/>, sent
    /// with an EDNS client subnet when <paramref name="clientSubnet"/> is given, from the namespace <paramref name="netns"/>
    /// when given; one try, 2 s. Throws <see cref="IOException"/> with dig's output when there is no answer.
    /// </summary>
    public static async Task<IReadOnlyList<string>> QueryAsync(string server, int port, string name, CancellationToken cancellationToken, string? clientSubnet = null, string? netns = null, string type = "A")
    {
        List<string> command = [Executable ?? "dig", $"@{server}", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+short", "+time=2", "+tries=1", name, type];
        if (clientSubnet is not null)
        {
            command.Add($"+subnet={clientSubnet}");
        }

        if (netns is not null)
        {
            command.InsertRange(0, ["ip", "netns", "exec", netns]);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        var result = await ProcessRunner.RunAsync(command[0], command.Skip(1), limit.Token).ConfigureAwait(false);
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (result.ExitCode != 0 || lines.Any(l => l.StartsWith(';')))
        {
            throw new IOException($"`{string.Join(' ', command)}` failed ({result.ExitCode}): {result.StdOut.Trim()} {result.StdErr.Trim()}");
        }

        return [.. lines.Order(StringComparer.Ordinal)];
    }
}
