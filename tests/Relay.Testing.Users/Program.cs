using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Relay.Client;
using Relay.Contracts.Tokens;
using Relay.Testing.Users;

// The users of one region of the regions lab, run inside its users namespace. Each user is one Relay.Client session
// sending numbered echo messages at a steady rate, with a fixed URL list (--url…) or a negotiate URL (--negotiate-url:
// the SDK's candidate list from negotiate, its race and next-candidate failover). One JSON object per stdout line: "welcome" at every welcome (which
// URL, resumed or not, Stopwatch ticks: CLOCK_MONOTONIC, the same clock in every process of the machine), "ready" once
// every user is in, "result" at the end (after "stop" on stdin, or --max-seconds): counts, sequence checks and
// percentiles. Bounded: sessions, rate, run time and every buffer.
var options = UsersOptions.Parse(args);
if (options is null)
{
    return 2;
}

using var issuer = new TokenIssuer(options.SigningKeyPath);
await using var users = new UsersRun(options, issuer);
using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(options.MaxSeconds));
var stdin = Task.Run(async () =>
{
    // Commands: "stop" (stop sending, settle, print the result), "reset" (forget the round trips measured so far).
    while (await Console.In.ReadLineAsync(limit.Token) is { } line)
    {
        if (line.Trim() == "stop")
        {
            return;
        }

        if (line.Trim() == "reset")
        {
            users.ResetRoundTrips();
        }
    }
}, limit.Token);

try
{
    await users.StartAsync(limit.Token);
    UsersRun.Emit(new { e = "ready", sessions = users.Connected, failed = users.FailedToConnect, t = Stopwatch.GetTimestamp() });
    await stdin.WaitAsync(limit.Token);
}
catch (OperationCanceledException) when (limit.IsCancellationRequested)
{
    Console.Error.WriteLine($"users: --max-seconds {options.MaxSeconds} reached; stopping");
}

UsersRun.Emit(await users.StopAsync(TimeSpan.FromSeconds(options.SettleSeconds)));
return 0;

namespace Relay.Testing.Users
{
    internal sealed record UsersOptions(string Name, int Sessions, double Rate, double MaxSeconds, double SettleSeconds, string SigningKeyPath, string Site, int Own, IReadOnlyList<Uri> Urls, int FirstId,
        Uri? NegotiateUrl = null, TimeSpan? RaceAfter = null)
    {
        public static UsersOptions? Parse(string[] args)
        {
            string name = "users", site = "s1", key = "";
            int sessions = 10, own = 1, firstId = 0;
            double rate = 2, maxSeconds = 300, settle = 20;
            double? raceAfterMs = null;
            Uri? negotiate = null;
            var urls = new List<Uri>();
            try
            {
                for (int i = 0; i < args.Length; i++)
                {
                    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]}: needs a value");
                    switch (args[i])
                    {
                        case "--name": name = Next(); break;
                        case "--sessions": sessions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--rate": rate = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--max-seconds": maxSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--settle-seconds": settle = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--signing-key": key = Next(); break;
                        case "--site": site = Next(); break;
                        case "--own": own = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--first-id": firstId = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--url": urls.Add(new Uri(Next())); break;
                        case "--negotiate-url": negotiate = new Uri(Next()); break;
                        case "--race-after-ms": raceAfterMs = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                        default: throw new ArgumentException($"unknown option {args[i]}");
                    }
                }

                if (sessions is < 1 or > 5000 || rate is <= 0 or > 100 || maxSeconds is <= 0 or > 3600 || settle is < 0 or > 120)
                {
                    throw new ArgumentException("--sessions 1-5000, --rate 0-100, --max-seconds 0-3600, --settle-seconds 0-120");
                }

                if (negotiate is not null && (urls.Count > 0 || !negotiate.IsAbsoluteUri || negotiate.Scheme is not ("http" or "https")))
                {
                    throw new ArgumentException("--negotiate-url: an absolute http(s) URL, instead of --url (not with it)");
                }

                if (raceAfterMs is < 0 or > 5000 || (raceAfterMs is not null && negotiate is null))
                {
                    throw new ArgumentException("--race-after-ms: 0-5000, with --negotiate-url");
                }

                if ((negotiate is null && (urls.Count == 0 || own < 1 || own > urls.Count)) || !File.Exists(key))
                {
                    throw new ArgumentException("at least one --url (or --negotiate-url), --own 1..(number of urls), --signing-key an existing PEM file");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException or OverflowException)
            {
                Console.Error.WriteLine($"users: {e.Message}");
                Console.Error.WriteLine("usage: Relay.Testing.Users --signing-key PEM (--url WS [--url WS]... [--own N] | --negotiate-url HTTP [--race-after-ms MS]) [--sessions N] [--rate MSG_PER_S] [--name NAME] [--site SITE] [--first-id N] [--max-seconds S] [--settle-seconds S]");
                return null;
            }

            return new UsersOptions(name, sessions, rate, maxSeconds, settle, key, site, own, urls, firstId, negotiate,
                raceAfterMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null);
        }

        /// <summary>User <paramref name="index"/>'s URLs: the first <see cref="Own"/> (its region's) rotated by the index, then the rest in order.</summary>
        public IReadOnlyList<Uri> UrlsFor(int index)
        {
            if (Urls.Count == 0)
            {
                return [];
            }

            var ownUrls = Urls.Take(Own).ToArray();
            return [.. ownUrls.Skip(index % Own), .. ownUrls.Take(index % Own), .. Urls.Skip(Own)];
        }
    }
}
