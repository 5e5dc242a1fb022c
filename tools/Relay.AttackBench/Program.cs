using System.Globalization;
using System.Net;
using Relay.AttackBench;

// ./build.sh bench attack [options]: legitimate sessions through one gateway, without and with a connection flood.
// Relay.AttackBench flood ...: one flood process (started by the bench; its sockets count against its own file limit).
if (args.Length > 0 && args[0] is "-h" or "--help")
{
    Console.WriteLine(AttackOptions.Usage);
    return 0;
}

try
{
    if (args.Length > 0 && args[0] == "flood")
    {
        Native.RaiseOpenFileLimit();
        var flood = new Flood(ParseFlood(args));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(660));
        await flood.RunAsync(cts.Token);
        return 0;
    }

    return await new AttackBench(AttackOptions.Parse(args)).RunAsync();
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("attack bench: cancelled; the processes it started are stopped");
    return 130;
}
catch (Exception e) when (e is ArgumentException or FormatException or FileNotFoundException)
{
    Console.Error.WriteLine($"attack bench: {e.Message}");
    return 2;
}

static FloodOptions ParseFlood(string[] args)
{
    var v = new Dictionary<string, string>();
    for (int i = 1; i + 1 < args.Length; i += 2)
    {
        v[args[i]] = args[i + 1];
    }

    int Int(string k) => int.Parse(v[k], CultureInfo.InvariantCulture);
    return new FloodOptions(
        IPEndPoint.Parse(v["--gateway"]), IPEndPoint.Parse(v["--backhaul"]), Int("--idle"), Int("--half-open"), Int("--backhaul-connections"),
        Int("--sources"), Int("--first-source"), double.Parse(v["--seconds"], CultureInfo.InvariantCulture), v["--result"])
    {
        ConnectConcurrency = Int("--connect-concurrency"),
    };
}
