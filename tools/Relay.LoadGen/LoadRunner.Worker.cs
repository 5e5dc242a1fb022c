using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using Relay.Client;

namespace Relay.LoadGen;

public sealed partial class LoadRunner
{
    /// <summary>One session: sends bodies "sender:n:timestamp" (echo mode: to itself; room mode: to its room) and checks
    /// that every expected body arrives once and in order per sender; a gap in a sender's numbers is a loss.</summary>
    private sealed class Worker(LoadRunner runner, int index, string token, HttpMessageHandler upgrades)
    {
        private readonly TaskCompletionSource _gotOne = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private RelayClient? _client;
        private HttpMessageInvoker? _invoker;
        private Task? _reader;
        private long _sent;
        private int _waiting;
        private string? _lastFailure; // why this session's last upgrade failed; null after one succeeded
        private volatile bool _stopping;
        private bool _welcomed; // StateChanged runs on the client's own loop, one change at a time

        // What arrived from each sender (echo: only this worker; rooms: every other member). Touched only by the reader.
        private readonly DeliveryCounter _deliveries = new();

        public bool Connected { get; private set; }

        /// <summary>Room mode: the room this session joins in its hello.</summary>
        public string? Room => runner._options.RoomSize > 0 ? "load-" + (index / runner._options.RoomSize).ToString(CultureInfo.InvariantCulture) : null;

        /// <summary>Room mode: the connected members of this session's room, itself included.</summary>
        public Worker[] Peers { get; set; } = [];

        public long SentCount => Volatile.Read(ref _sent);

        public int Index => index;

        /// <summary>What this session should have received and did not (read after the reader ended).</summary>
        public long Lost()
        {
            IEnumerable<Worker> senders = runner._options.RoomSize > 0 ? Peers.Where(p => p != this) : [this];
            return senders.Sum(s => _deliveries.Lost(s.Index, s.SentCount));
        }

        public async Task ConnectAsync(CancellationToken ct)
        {
            var o = runner._options;
            // --http2: a handler (an HTTP/2 connection) of its own, disposed with the invoker; else the run's shared one.
            _invoker = new HttpMessageInvoker(new UpgradeFailureHandler(o.Http2 ? new SocketsHttpHandler() : upgrades, OnUpgrade), disposeHandler: o.Http2);
            _client = new RelayClient(new RelayClientOptions
            {
                HttpInvoker = _invoker,
                UrlFactory = attempt => o.Urls[(index + attempt) % o.Urls.Count],
                TokenProvider = _ => ValueTask.FromResult(token),
                Rooms = Room is { } room ? [room] : [],
                MaxUnacknowledged = o.Window,
                MaxReconnectAttempts = o.ConnectAttempts,
                Heartbeat = TimeSpan.FromSeconds(o.Heartbeat),
                HttpVersion = o.Http2 ? System.Net.HttpVersion.Version20 : System.Net.HttpVersion.Version11,
            });
            _client.StateChanged += change =>
            {
                if (change.State == RelayClientState.Connected)
                {
                    if (_welcomed && !change.Resumed)
                    {
                        Interlocked.Increment(ref runner._restarted); // the core had ended the session (session_unknown)
                    }

                    _welcomed = true;
                }
                else if (change.State == RelayClientState.Reconnecting)
                {
                    Interlocked.Increment(ref runner._reconnects);
                    runner._closes.AddOrUpdate(change.CloseCode?.ToString(CultureInfo.InvariantCulture) ?? "none", 1, (_, n) => n + 1);
                }
            };
            long start = Stopwatch.GetTimestamp();
            try
            {
                await _client.ConnectAsync(ct).ConfigureAwait(false);
                runner._connect.Record(Stopwatch.GetElapsedTime(start).Ticks);
                Connected = true;
                Interlocked.Increment(ref runner._connected);
                _reader = ReadAsync();
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The upgrade's own failure says most ("HTTP 429: ..."); when the upgrade succeeded but no welcome came,
                // the client's error says what ended it.
                runner._connectFailures.Add(Volatile.Read(ref _lastFailure) ?? (e is OperationCanceledException ? "still connecting when the run ended" : e.Message));
            }
        }

        /// <summary>From <see cref="UpgradeFailureHandler"/>: why an upgrade failed, or null when it succeeded.</summary>
        private void OnUpgrade(string? failure)
        {
            if (_stopping)
            {
                return; // a reconnect cut short by the run's end is not a failure of the target
            }

            Volatile.Write(ref _lastFailure, failure);
            if (failure is not null)
            {
                runner._failedAttempts.Add(failure);
            }
        }

        public async Task SendOneAsync(CancellationToken ct)
        {
            await SendAsync(ct).ConfigureAwait(false);
            if (runner._options.RoomSize == 0 || Peers.Length > 1)
            {
                await _gotOne.Task.WaitAsync(TimeSpan.FromSeconds(15), ct).ConfigureAwait(false);
            }
        }

        /// <summary>The pacer's turn for this session: sends one message, unless the previous one still waits for a
        /// window slot (then this turn is skipped). Called only from the pacer thread.</summary>
        public void SendPaced(CancellationToken ct)
        {
            if (Volatile.Read(ref _waiting) != 0)
            {
                return;
            }

            var send = SendAsync(ct);
            if (send.IsCompleted)
            {
                Observe(send);
                return;
            }

            Volatile.Write(ref _waiting, 1);
            send.ContinueWith(
                static (t, state) =>
                {
                    var w = (Worker)state!;
                    w.Observe(t);
                    Volatile.Write(ref w._waiting, 0);
                },
                this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        private void Observe(Task send)
        {
            if (send.Exception?.GetBaseException() is { } e and not OperationCanceledException && !GaveUp(e))
            {
                runner.PaceFailed(e);
            }
        }

        /// <summary>Sends whenever the window has room: throughput is what the path carries, latency is queueing.</summary>
        public async Task SendClosedLoopAsync(CancellationToken ct)
        {
            await Task.Yield();
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    await SendAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception e) when (GaveUp(e))
            {
                // The session's client stopped for good (out of --connect-attempts): it sends no more; what it had
                // queued and not delivered is counted as lost by the delivery counter, as before.
            }
        }

        /// <summary>A send refused because the client is closed for good (out of reconnect attempts), not a fault.</summary>
        private bool GaveUp(Exception e) => e is InvalidOperationException or ObjectDisposedException && _client?.State == RelayClientState.Closed;

        public async Task StopAsync()
        {
            _stopping = true;
            if (_client is not null)
            {
                await _client.CloseAsync().ConfigureAwait(false);
            }

            if (_reader is not null)
            {
                await _reader.ConfigureAwait(false);
            }

            _invoker?.Dispose();
        }

        private async Task SendAsync(CancellationToken ct)
        {
            // Counted once queued: the client then owns delivery (resume and replay), so a later loss is real.
            // The wait for a window slot is cancellable; a message that got a slot is always sent and counted.
            ct.ThrowIfCancellationRequested();
            long n = _sent + 1;
            string body = string.Create(CultureInfo.InvariantCulture, $"{index}:{n}:{Stopwatch.GetTimestamp()}");
            await _client!.SendAsync(body, Room, ct).ConfigureAwait(false);
            Volatile.Write(ref _sent, n);
            Interlocked.Increment(ref runner._sent);
        }

        private async Task ReadAsync()
        {
            await foreach (var m in _client!.ReadAllAsync().ConfigureAwait(false))
            {
                if (!TryParse(m.Body, out int sender, out long n, out long ts))
                {
                    continue;
                }

                if (ts >= Interlocked.Read(ref runner._measureFrom))
                {
                    long rtt = Stopwatch.GetElapsedTime(ts).Ticks;
                    runner._latency.Record(rtt);
                    runner._latencyInterval.Record(rtt);
                }

                long received = _deliveries.Received, duplicated = _deliveries.Duplicated, outOfOrder = _deliveries.OutOfOrder, skipped = _deliveries.Skipped;
                _deliveries.Record(sender, n);
                Interlocked.Add(ref runner._received, _deliveries.Received - received);
                Interlocked.Add(ref runner._duplicated, _deliveries.Duplicated - duplicated);
                Interlocked.Add(ref runner._outOfOrder, _deliveries.OutOfOrder - outOfOrder);
                Interlocked.Add(ref runner._skipped, _deliveries.Skipped - skipped);

                _gotOne.TrySetResult();
            }
        }

        private static bool TryParse(string body, out int sender, out long n, out long ts)
        {
            sender = 0;
            n = ts = 0;
            var span = body.AsSpan();
            int a = span.IndexOf(':');
            if (a < 0)
            {
                return false;
            }

            int b = span[(a + 1)..].IndexOf(':');
            return b >= 0
                && int.TryParse(span[..a], NumberStyles.None, CultureInfo.InvariantCulture, out sender)
                && long.TryParse(span.Slice(a + 1, b), NumberStyles.None, CultureInfo.InvariantCulture, out n)
                && long.TryParse(span[(a + b + 2)..], NumberStyles.None, CultureInfo.InvariantCulture, out ts);
        }
    }
}
