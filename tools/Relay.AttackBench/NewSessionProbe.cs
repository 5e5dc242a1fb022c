using System.Diagnostics;
using Relay.Client;

namespace Relay.AttackBench;

/// <summary>During the flood, once a second: a new legitimate session connects through the gateway, sends one
/// message and waits for its echo (at most 5 s), then closes. What a user arriving during the attack sees.</summary>
internal static class NewSessionProbe
{
    public sealed record Result(int Ok, int Failed, double P50Ms, double MaxMs);

    public static async Task<Result> RunAsync(Uri url, string token, TimeSpan duration, CancellationToken ct)
    {
        var times = new List<double>();
        int failed = 0;
        var until = Stopwatch.StartNew();
        for (int i = 0; i < 600 && until.Elapsed < duration && !ct.IsCancellationRequested; i++)
        {
            var started = Stopwatch.StartNew();
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attempt.CancelAfter(TimeSpan.FromSeconds(5));
            await using var client = new RelayClient(new RelayClientOptions
            {
                Urls = [url],
                TokenProvider = _ => ValueTask.FromResult(token),
                MaxReconnectAttempts = 1,
                ConnectTimeout = TimeSpan.FromSeconds(5),
            });
            try
            {
                await client.ConnectAsync(attempt.Token);
                await client.SendAsync("probe", null, attempt.Token);
                await foreach (var m in client.ReadAllAsync(attempt.Token))
                {
                    if (m.Body == "probe")
                    {
                        break;
                    }
                }

                times.Add(started.Elapsed.TotalMilliseconds);
            }
            catch (Exception e) when (e is not ArgumentException)
            {
                failed++;
            }

            var rest = TimeSpan.FromSeconds(1) - started.Elapsed;
            if (rest > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(rest, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        times.Sort();
        return new Result(times.Count, failed, times.Count > 0 ? times[times.Count / 2] : 0, times.Count > 0 ? times[^1] : 0);
    }
}
