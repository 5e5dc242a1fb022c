using System.Globalization;
using Relay.LoadGen;

var options = new LoadOptions();
try
{
    if (args.Length == 0 || args[0] is "-h" or "--help")
    {
        Console.WriteLine("usage: Relay.LoadGen connect-storm|steady|failover [--url ws://127.0.0.1:7080/ws]... [--token-url URL] [--fault-url URL]");
        Console.WriteLine("       [--sessions N] [--rate MSG_PER_S] [--seconds S] [--connect-concurrency N] [--fault-every S] [--out DIR] [--allow-remote]");
        return args.Length == 0 ? 2 : 0;
    }

    options.Scenario = args[0];
    for (int i = 1; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]}: needs a value.");
        switch (args[i])
        {
            case "--url": options.Urls.Add(new Uri(Next())); break;
            case "--token-url": options.TokenUrl = new Uri(Next()); break;
            case "--fault-url": options.FaultUrl = new Uri(Next().TrimEnd('/') + "/"); break;
            case "--sessions": options.Sessions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--rate": options.Rate = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--seconds": options.Seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--connect-concurrency": options.ConnectConcurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--fault-every": options.FaultEvery = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--out": options.OutputDirectory = Next(); break;
            case "--allow-remote": options.AllowRemote = true; break;
            default: throw new ArgumentException($"unknown option {args[i]}");
        }
    }

    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds + 120));
    var report = await new LoadRunner(options).RunAsync(cts.Token);
    Console.WriteLine(ReportWriter.Write(report, options.OutputDirectory));
    return report.Lost == 0 && report.Duplicated == 0 && report.OutOfOrder == 0 ? 0 : 1;
}
catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
{
    Console.Error.WriteLine($"loadgen: {e.Message}");
    return 2;
}
