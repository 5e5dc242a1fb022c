using Relay.Client;

namespace Relay.Testing.Steering;

/// <summary>
/// Steady load through the steering layer: N Relay.Client sessions each sending numbered echo
/// messages at a steady pace, counting what comes back. Bounded in count and time.
/// </summary>
public sealed class ChatLoad : IAsyncDisposable
{
    private readonly List<Member> _members = [];
    private readonly CancellationTokenSource _stop = new();

    public int Sessions => _members.Count;

    /// <summary>Messages sent so far by every session.</summary>
    public long Sent
    {
        get
        {
            lock (_members)
            {
                return _members.Sum(m => m.Sent);
            }
        }
    }

    public static async Task<ChatLoad> StartAsync(Uri url, Func<int, string> token, int sessions, TimeSpan interval, CancellationToken cancellationToken, int firstId = 0)
    {
        var load = new ChatLoad();
        await load.AddAsync(url, token, sessions, interval, cancellationToken, firstId);
        return load;
    }

    public async Task AddAsync(Uri url, Func<int, string> token, int sessions, TimeSpan interval, CancellationToken cancellationToken, int firstId)
    {
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(firstId, sessions).Select(async id =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                var client = new RelayClient(new RelayClientOptions
                {
                    Urls = [url],
                    TokenProvider = _ => ValueTask.FromResult(token(id)),
                    ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
                    ReconnectMaxDelay = TimeSpan.FromSeconds(1),
                    MaxReconnectAttempts = 200,
                });
                await client.ConnectAsync(cancellationToken);
                var member = new Member(id, client);
                member.Reader = Task.Run(() => member.ReadAsync(_stop.Token), CancellationToken.None);
                member.Writer = Task.Run(() => member.WriteAsync(interval, _stop.Token), CancellationToken.None);
                lock (_members)
                {
                    _members.Add(member);
                }
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>Stops sending, waits (bounded) for the echoes, and counts lost, duplicated and out-of-order messages.</summary>
    public async Task<LoadResult> StopAsync(TimeSpan settle)
    {
        foreach (var m in _members)
        {
            m.StopSending();
        }

        await Task.WhenAll(_members.Select(m => m.Writer!)).WaitAsync(TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow + settle;
        while (DateTime.UtcNow < deadline && _members.Any(m => m.ReceivedCount < m.Sent))
        {
            await Task.Delay(100);
        }

        long sent = 0, lost = 0, duplicated = 0, outOfOrder = 0;
        foreach (var m in _members)
        {
            var (s, l, d, o) = m.Verify();
            sent += s;
            lost += l;
            duplicated += d;
            outOfOrder += o;
        }

        return new LoadResult(sent, lost, duplicated, outOfOrder);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        foreach (var m in _members)
        {
            await m.Client.DisposeAsync();
        }

        _stop.Dispose();
    }

    private sealed class Member(int id, RelayClient client)
    {
        private readonly List<long> _received = [];
        private volatile bool _sending = true;

        public RelayClient Client => client;

        public Task? Reader { get; set; }

        public Task? Writer { get; set; }

        public long Sent { get; private set; }

        public int ReceivedCount
        {
            get
            {
                lock (_received)
                {
                    return _received.Count;
                }
            }
        }

        public void StopSending() => _sending = false;

        public async Task WriteAsync(TimeSpan interval, CancellationToken token)
        {
            try
            {
                for (long n = 0; _sending && n < 100_000; n++)
                {
                    await client.SendAsync($"{id}:{n}", cancellationToken: token);
                    Sent = n + 1;
                    await Task.Delay(interval, token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async Task ReadAsync(CancellationToken token)
        {
            try
            {
                await foreach (var m in client.ReadAllAsync(token))
                {
                    var parts = m.Body.Split(':');
                    if (parts.Length == 2 && parts[0] == id.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    {
                        lock (_received)
                        {
                            _received.Add(long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
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
            lock (_received)
            {
                long duplicated = _received.Count - _received.Distinct().Count();
                long outOfOrder = _received.Zip(_received.Skip(1)).Count(p => p.Second <= p.First);
                var set = _received.ToHashSet();
                long lost = Enumerable.Range(0, (int)Sent).Count(n => !set.Contains(n));
                return (Sent, lost, duplicated, outOfOrder);
            }
        }
    }
}
