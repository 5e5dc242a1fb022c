using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Relay.Client;
using Relay.Contracts.Tokens;

namespace Relay.Testing.Users;

/// <summary>The sessions of one users process, their sending and their checks.</summary>
internal sealed class UsersRun(UsersOptions options, TokenIssuer issuer) : IAsyncDisposable
{
    private const int MaxSamples = 200_000;
    private static readonly Lock s_out = new();
    private readonly List<User> _users = [];
    private readonly List<double> _connectMs = [];
    private readonly CancellationTokenSource _stop = new();
    private int _failed;

    public int Connected
    {
        get
        {
            lock (_users)
            {
                return _users.Count;
            }
        }
    }

    public int FailedToConnect => Volatile.Read(ref _failed);

    public static void Emit(object value)
    {
        string line = JsonSerializer.Serialize(value);
        lock (s_out)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }

    public async Task StartAsync(CancellationToken token)
    {
        await WarmUpAsync(token);
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, options.Sessions).Select(async index =>
        {
            await gate.WaitAsync(token);
            try
            {
                var user = new User(options.FirstId + index, options.UrlsFor(index), options.Name);
                var client = new RelayClient(ClientOptions(
                    user.PickUrl, $"{options.Name}-{user.Id}", TimeSpan.FromHours(2), maxAttempts: 200));
                user.Client = client;
                client.StateChanged += change =>
                {
                    if (change.State == RelayClientState.Connected)
                    {
                        // With negotiate, the URL is the race's winner (the SDK's steering); else the one PickUrl gave.
                        if (change.Steering is { } steering)
                        {
                            user.CurrentUrl = steering.Url;
                        }

                        Emit(new { e = "welcome", user = user.Id, url = user.CurrentUrl?.ToString(), resumed = change.Resumed, t = Stopwatch.GetTimestamp(), region = change.Steering?.Region, reason = change.Steering?.Reason });
                    }
                };
                long started = Stopwatch.GetTimestamp();
                try
                {
                    await client.ConnectAsync(token);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref _failed);
                    Console.Error.WriteLine($"users: {user.Id} could not connect: {e.Message}");
                    await client.DisposeAsync();
                    return;
                }

                lock (_connectMs)
                {
                    _connectMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                user.Reader = Task.Run(() => user.ReadAsync(_stop.Token), CancellationToken.None);
                user.Writer = Task.Run(() => user.WriteAsync(TimeSpan.FromSeconds(1 / options.Rate), options.MaxSeconds, _stop.Token), CancellationToken.None);
                lock (_users)
                {
                    _users.Add(user);
                }
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>One throwaway session (not counted) first: JIT and connection pools warm before any session start is measured.</summary>
    private async Task WarmUpAsync(CancellationToken token)
    {
        var urls = options.UrlsFor(0);
        var warmUp = ClientOptions(attempt => urls[attempt % urls.Count], $"{options.Name}-warmup", TimeSpan.FromMinutes(10), maxAttempts: 20);
        warmUp.ReconnectMaxDelay = new RelayClientOptions().ReconnectMaxDelay;
        await using var client = new RelayClient(warmUp);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
        limit.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await client.ConnectAsync(limit.Token);
            await client.SendAsync("warmup", cancellationToken: limit.Token);
            await foreach (var m in client.ReadAllAsync(limit.Token))
            {
                if (m.Body == "warmup")
                {
                    break;
                }
            }

            await client.CloseAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
        {
            Console.Error.WriteLine($"users: warm-up session failed: {e.Message}");
        }
    }

    /// <summary>
    /// A client's options: the fixed URL list through <paramref name="pickUrl"/>, or with <c>--negotiate-url</c> the
    /// SDK's negotiate (its candidate list, the race after <c>--race-after-ms</c> or the SDK's default, the next
    /// candidate after a backoff on a failure). Tokens are minted here either way (the core's key).
    /// </summary>
    private RelayClientOptions ClientOptions(Func<int, Uri> pickUrl, string subject, TimeSpan lifetime, int maxAttempts)
    {
        var o = new RelayClientOptions
        {
            TokenProvider = _ => ValueTask.FromResult(issuer.Issue(subject, options.Site, "visitor", lifetime).Token),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            MaxReconnectAttempts = maxAttempts,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        if (options.NegotiateUrl is { } negotiate)
        {
            o.NegotiateUrl = negotiate;
            o.RaceAfter = options.RaceAfter ?? o.RaceAfter;
        }
        else
        {
            o.UrlFactory = pickUrl;
        }

        return o;
    }

    public void ResetRoundTrips()
    {
        lock (_users)
        {
            foreach (var u in _users)
            {
                u.ResetRoundTrips();
            }
        }
    }

    public async Task<object> StopAsync(TimeSpan settle)
    {
        User[] users;
        lock (_users)
        {
            users = [.. _users];
        }

        foreach (var u in users)
        {
            u.StopSending();
        }

        await Task.WhenAll(users.Select(u => u.Writer!)).WaitAsync(TimeSpan.FromSeconds(30));
        long until = Stopwatch.GetTimestamp() + (long)(settle.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until && users.Any(u => u.Missing > 0))
        {
            await Task.Delay(100);
        }

        var rtt = users.SelectMany(u => u.RoundTrips()).Order().ToArray();
        double[] connect;
        lock (_connectMs)
        {
            connect = [.. _connectMs.Order()];
        }

        var checks = users.Select(u => u.Verify()).ToArray();
        return new
        {
            e = "result",
            sessions = users.Length,
            failed = FailedToConnect,
            sent = checks.Sum(c => c.Sent),
            lost = checks.Sum(c => c.Lost),
            duplicated = checks.Sum(c => c.Duplicated),
            outOfOrder = checks.Sum(c => c.OutOfOrder),
            rttSamples = rtt.Length,
            rttP50 = Percentile(rtt, 0.50),
            rttP99 = Percentile(rtt, 0.99),
            connectP50 = Percentile(connect, 0.50),
            connectP99 = Percentile(connect, 0.99),
            urls = users.GroupBy(u => u.CurrentUrl?.ToString() ?? "").ToDictionary(g => g.Key, g => g.Count()),
        };
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        User[] users;
        lock (_users)
        {
            users = [.. _users];
        }

        foreach (var u in users)
        {
            await u.Client!.DisposeAsync();
        }

        _stop.Dispose();
    }

    private static double? Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? null : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);

    private sealed class User(int id, IReadOnlyList<Uri> urls, string name)
    {
        private readonly Lock _gate = new();
        private readonly List<long> _received = [];
        private readonly Dictionary<long, long> _sentAt = [];
        private readonly List<double> _roundTrips = [];
        private volatile bool _sending = true;
        private long _sent;

        public int Id => id;

        public RelayClient? Client { get; set; }

        public Task? Reader { get; set; }

        public Task? Writer { get; set; }

        public Uri? CurrentUrl { get; set; }

        public long Missing
        {
            get
            {
                lock (_gate)
                {
                    return Interlocked.Read(ref _sent) - _received.Count;
                }
            }
        }

        public Uri PickUrl(int attempt)
        {
            var url = urls[attempt % urls.Count];
            CurrentUrl = url;
            return url;
        }

        public void StopSending() => _sending = false;

        public void ResetRoundTrips()
        {
            lock (_gate)
            {
                _roundTrips.Clear();
            }
        }

        public double[] RoundTrips()
        {
            lock (_gate)
            {
                return [.. _roundTrips];
            }
        }

        public async Task WriteAsync(TimeSpan interval, double maxSeconds, CancellationToken token)
        {
            long max = (long)Math.Min(MaxSamples, maxSeconds / interval.TotalSeconds + 1);
            try
            {
                // Paced by schedule (not sleep-after-send), so a slow send does not lower the rate.
                long start = Stopwatch.GetTimestamp();
                for (long n = 0; _sending && n < max; n++)
                {
                    lock (_gate)
                    {
                        _sentAt[n] = Stopwatch.GetTimestamp();
                    }

                    await Client!.SendAsync(string.Create(CultureInfo.InvariantCulture, $"{name}-{id}:{n}"), cancellationToken: token);
                    Interlocked.Exchange(ref _sent, n + 1);
                    long next = start + (long)((n + 1) * interval.TotalSeconds * Stopwatch.Frequency);
                    var wait = TimeSpan.FromSeconds((next - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, token);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async Task ReadAsync(CancellationToken token)
        {
            string prefix = string.Create(CultureInfo.InvariantCulture, $"{name}-{id}:");
            try
            {
                await foreach (var m in Client!.ReadAllAsync(token))
                {
                    if (!m.Body.StartsWith(prefix, StringComparison.Ordinal) || !long.TryParse(m.Body.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                    {
                        continue;
                    }

                    long now = Stopwatch.GetTimestamp();
                    lock (_gate)
                    {
                        if (_received.Count < MaxSamples)
                        {
                            _received.Add(n);
                        }

                        if (_sentAt.Remove(n, out long sentAt) && _roundTrips.Count < MaxSamples)
                        {
                            _roundTrips.Add((now - sentAt) * 1000.0 / Stopwatch.Frequency);
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public (long Sent, long Lost, long Duplicated, long OutOfOrder) Verify()
        {
            lock (_gate)
            {
                long sent = Interlocked.Read(ref _sent);
                long duplicated = _received.Count - _received.Distinct().Count();
                long outOfOrder = _received.Zip(_received.Skip(1)).Count(p => p.Second <= p.First);
                var set = _received.ToHashSet();
                long lost = 0;
                for (long n = 0; n < sent; n++)
                {
                    lost += set.Contains(n) ? 0 : 1;
                }

                return (sent, lost, duplicated, outOfOrder);
            }
        }
    }
}
