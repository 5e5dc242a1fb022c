using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Relay.Contracts.Regions;
using Relay.Contracts.Sessions;

namespace Relay.Client;

/// <summary>
/// Issue 17, with <see cref="RelayClientOptions.NegotiateUrl"/>: the candidate list from negotiate, the race between the
/// first two candidates, the next candidate when a relay fails (at once while opening; after the backoff once a connection
/// was welcomed, unless a stable session was drained or went away: RunAsync), and tokens renewed by negotiate.
/// </summary>
public sealed partial class RelayClient
{
    /// <summary>How long a negotiate answer is used before it is fetched again.</summary>
    private static readonly TimeSpan s_planMaxAge = TimeSpan.FromSeconds(60);

    /// <summary>How long a race's loser waits for the relay to answer its close 1000 before the socket is aborted.</summary>
    private static readonly TimeSpan s_loserCloseTimeout = TimeSpan.FromSeconds(2);

    private static readonly HttpClient s_negotiateHttp = new() { Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = NegotiateResponse.MaxBytes };

    private readonly ConcurrentDictionary<string, TimeSpan> _handshakeTimes = new(StringComparer.Ordinal);
    private NegotiateResponse? _plan;
    private long _planFetchedAt;
    private int _planIndex;
    private RelaySteering? _steering;
    private string? _renewFrom;

    /// <summary>With a negotiate URL: the region, the relay and why (null before the first connection, and without one).</summary>
    public RelaySteering? Steering
    {
        get
        {
            lock (_gate)
            {
                return _steering;
            }
        }
    }

    /// <summary>The handshake (websocket upgrade) time last measured per relay URL; candidates of one region are tried fastest first.</summary>
    public IReadOnlyDictionary<string, TimeSpan> HandshakeTimes => _handshakeTimes;

    /// <summary>One attempt's end; <paramref name="Final"/>: no later attempt can succeed (the core refused to renew the token).</summary>
    private readonly record struct Step(Outcome? Outcome, string? Reason, bool Immediate, bool Final = false);

    private readonly record struct Attempt(Connection? Connection, ServerFrame? Welcome, string? Reason, bool TokenRefused);

    /// <summary>One attempt with negotiate: a token, a fresh enough list, the race; then the winner runs until it ends.</summary>
    private async Task<Step> NegotiatedAttemptAsync(CancellationToken ct)
    {
        if (_token is null)
        {
            if (_options.TokenProvider is not null)
            {
                _token = await _options.TokenProvider(ct).ConfigureAwait(false);
            }
            else if (await FetchPlanAsync(_renewFrom ?? _options.AccessToken, ct).ConfigureAwait(false) is { Error: { } error } renewal)
            {
                // 401: the core will not renew this token (a session past its maximum age, a key it no longer knows), now
                // or later; only a new sign-in helps, so the client stops instead of asking again.
                return new Step(null, $"no fresh token from negotiate: {error}", false, Final: renewal.Refused);
            }
        }

        var time = _options.TimeProvider;
        if (_plan is null || _planIndex >= _plan.Relays.Count || time.GetElapsedTime(_planFetchedAt) > s_planMaxAge)
        {
            if (await FetchPlanAsync(null, ct).ConfigureAwait(false) is { Error: { } error })
            {
                return new Step(null, $"negotiate failed: {error}", false);
            }

            if (_plan!.Relays.Count == 0)
            {
                return new Step(null, $"negotiate lists no healthy relay ({_plan.Reason})", false);
            }
        }

        bool fresh;
        lock (_gate)
        {
            fresh = _session is null;
        }

        var plan = _plan!;
        var (winner, index, reason, tokenRefused) = await RaceAsync(plan.Relays, _planIndex, fresh, ct).ConfigureAwait(false);
        if (winner.Connection is null)
        {
            _planIndex = plan.Relays.Count; // exhausted: ask negotiate again (after the backoff)
            if (tokenRefused)
            {
                _renewFrom = _token;
                _token = null;
            }

            return new Step(null, reason, tokenRefused);
        }

        _planIndex = index;
        var relay = plan.Relays[index];
        lock (_gate)
        {
            _steering = new RelaySteering(plan.Region, relay.Id, relay.Region, plan.Reason, new Uri(relay.Url));
        }

        var outcome = await winner.Connection.RunAsync(ct, winner.Welcome).ConfigureAwait(false);
        if (outcome.CloseCode is not (CloseCodes.TokenExpired or CloseCodes.SessionUnknown))
        {
            _planIndex = index + 1; // this relay failed or moved us away: the next candidate (when: RunAsync's backoff rule)
        }

        if (outcome.CloseCode == CloseCodes.TokenExpired)
        {
            _renewFrom = _token;
        }

        return new Step(outcome, outcome.Reason, true);
    }

    /// <summary>
    /// Opens candidates from <paramref name="start"/>: the first, and the next when no welcome (a new session) or no open
    /// socket (a resume) came within <see cref="RelayClientOptions.RaceAfter"/>; the next at once when every open attempt
    /// failed. The first to succeed wins; the others are closed with 1000 at once.
    /// </summary>
    private async Task<(Attempt Winner, int Index, string? Reason, bool TokenRefused)> RaceAsync(IReadOnlyList<NegotiateRelay> relays, int start, bool fresh, CancellationToken ct)
    {
        var running = new List<(Task<Attempt> Task, CancellationTokenSource Cancel, int Index)>();
        using var raceCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        int next = start;
        Task? raceTimer = null;
        string? reason = null;
        try
        {
            while (true)
            {
                if (running.Count == 0)
                {
                    if (next >= relays.Count)
                    {
                        return (default, -1, reason ?? "every candidate failed", false);
                    }

                    StartNext();
                    raceTimer = next < relays.Count ? Task.Delay(_options.RaceAfter, _options.TimeProvider, raceCancel.Token) : null;
                }

                var waits = running.ConvertAll(r => (Task)r.Task);
                if (raceTimer is not null)
                {
                    waits.Add(raceTimer);
                }

                var done = await Task.WhenAny(waits).ConfigureAwait(false);
                if (done == raceTimer)
                {
                    raceTimer = null;
                    if (!ct.IsCancellationRequested && next < relays.Count && running.Count == 1)
                    {
                        StartNext(); // the race: relays[i + 1] next to a slow relays[i]
                    }

                    continue;
                }

                var entry = running.Find(r => r.Task == done);
                running.Remove(entry);
                entry.Cancel.Dispose();
                var attempt = await entry.Task.ConfigureAwait(false);
                if (attempt.Connection is not null)
                {
                    return (attempt, entry.Index, null, false);
                }

                reason = $"{relays[entry.Index].Id}: {attempt.Reason}";
                if (attempt.TokenRefused || ct.IsCancellationRequested)
                {
                    return (default, -1, reason, attempt.TokenRefused);
                }
            }
        }
        finally
        {
            await raceCancel.CancelAsync().ConfigureAwait(false);
            foreach (var (task, cancel, _) in running)
            {
                await cancel.CancelAsync().ConfigureAwait(false);
                _ = DiscardLoserAsync(task, cancel);
            }
        }

        void StartNext()
        {
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            running.Add((AttemptAsync(relays[next], fresh, cancel.Token), cancel, next));
            next++;
        }
    }

    /// <summary>A loser: cancelled (its socket closed with 1000 if it had opened), or, if it succeeded meanwhile, closed with 1000 now.</summary>
    private static async Task DiscardLoserAsync(Task<Attempt> attempt, CancellationTokenSource cancel)
    {
        var result = await attempt.ConfigureAwait(false);
        cancel.Dispose();
        if (result.Connection is not null)
        {
            await result.Connection.DiscardAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Opens one candidate: the upgrade (timed, remembered per URL), and for a new session the hello and its welcome. Never
    /// throws. <paramref name="lose"/> ends it: during the upgrade by aborting it, once the websocket is open by a close
    /// 1000 (the core ends that session at once; an abort would leave it waiting for a resume), then an abort if the relay
    /// does not answer the close within <see cref="s_loserCloseTimeout"/>.
    /// </summary>
    private async Task<Attempt> AttemptAsync(NegotiateRelay relay, bool fresh, CancellationToken lose)
    {
        var time = _options.TimeProvider;
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        var stopping = _stopping.Token;
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, time);
        using var upgrade = CancellationTokenSource.CreateLinkedTokenSource(lose, stopping, timeout.Token);
        using var closing = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token, closing.Token);
        Connection? connection = null;
        try
        {
            long started = time.GetTimestamp();
            await ConnectWebSocketAsync(socket, WithToken(new Uri(relay.Url)), upgrade.Token).ConfigureAwait(false);
            _handshakeTimes[relay.Url] = time.GetElapsedTime(started);
            connection = new Connection(this, socket);
            if (!fresh)
            {
                return new Attempt(connection, null, null, false);
            }

            ServerFrame? welcome;
            using (lose.Register(() => _ = CloseLoserAsync(connection, closing)))
            {
                welcome = await connection.HandshakeAsync(handshake.Token).ConfigureAwait(false);
            }

            if (welcome is not null && !lose.IsCancellationRequested)
            {
                return new Attempt(connection, welcome, null, false);
            }

            string why = lose.IsCancellationRequested ? "lost the race" : $"closed before the welcome ({(int?)socket.CloseStatus}): {socket.CloseStatusDescription ?? connection.FailureReason}";
            await connection.DiscardAsync().ConfigureAwait(false);
            return new Attempt(null, null, why, false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException or ObjectDisposedException or InvalidOperationException)
        {
            bool refused = socket.HttpStatusCode == HttpStatusCode.Unauthorized;
            string why = lose.IsCancellationRequested ? "lost the race" : $"connect failed ({(int)socket.HttpStatusCode}): {e.Message}";
            if (connection is not null)
            {
                await connection.DiscardAsync().ConfigureAwait(false); // opened: close 1000 at once
            }
            else
            {
                socket.Abort();
                socket.Dispose();
            }

            return new Attempt(null, null, why, refused);
        }

        static async Task CloseLoserAsync(Connection connection, CancellationTokenSource closing)
        {
            // The close frame goes out beside the pending receive; the relay's answering close ends the handshake.
            closing.CancelAfter(s_loserCloseTimeout);
            await connection.CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// GET the negotiate URL (or POST with <paramref name="renew"/> as the bearer token, for a fresh token): the new
    /// candidate list, same-region candidates reordered by measured handshake time. Returns the error (with the answer's
    /// own <c>error</c>), or null; Refused when the token was refused (401 to a refresh).
    /// </summary>
    private async Task<(string? Error, bool Refused)> FetchPlanAsync(string? renew, CancellationToken ct)
    {
        var url = _options.NegotiateUrl!;
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        NegotiateResponse? answer;
        try
        {
            for (int hop = 0; ; hop++)
            {
                using var request = new HttpRequestMessage(renew is null ? HttpMethod.Get : HttpMethod.Post, url);
                if (renew is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", renew);
                }

                using var response = await s_negotiateHttp.SendAsync(request, linked.Token).ConfigureAwait(false);
                var body = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    return ($"{(int)response.StatusCode} from {url}{ErrorOf(body)}", renew is not null && response.StatusCode == HttpStatusCode.Unauthorized);
                }

                answer = NegotiateResponse.TryParse(body);
                if (answer is null)
                {
                    return ($"not a negotiate answer from {url}", false);
                }

                // A relay mints no tokens: its answer names the core's negotiate URL; ask there (once).
                if (renew is not null && answer.Token is null && hop == 0 && answer.TokenUrl is { } tokenUrl && Uri.TryCreate(tokenUrl, UriKind.Absolute, out var core) && core.Scheme is "http" or "https")
                {
                    url = core;
                    continue;
                }

                break;
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return (e.Message, false);
        }

        if (renew is not null)
        {
            if (string.IsNullOrEmpty(answer.Token))
            {
                return ("the answer has no token", false);
            }

            _token = answer.Token;
            _renewFrom = null;
        }

        // Only candidates a websocket can open (a relay's URL is the server's to get right; a bad one is skipped, not fatal).
        var usable = answer.Relays.Where(r => Uri.TryCreate(r.Url, UriKind.Absolute, out var u) && u.Scheme is "ws" or "wss").ToList();
        _plan = answer with { Relays = Reorder(usable) };
        _planFetchedAt = _options.TimeProvider.GetTimestamp();
        _planIndex = 0;
        return (null, false);
    }

    /// <summary>": " and a refusal's <c>error</c> (<c>{"error": "…"}</c>, as the core answers), at most 300 characters; else empty.</summary>
    private static string ErrorOf(byte[] body)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == System.Text.Json.JsonValueKind.String
                && error.GetString() is { Length: > 0 } text
                ? ": " + (text.Length > 300 ? text[..300] + "…" : text).ReplaceLineEndings(" ")
                : string.Empty;
        }
        catch (System.Text.Json.JsonException)
        {
            return string.Empty;
        }
    }

    /// <summary>Within each run of same-region candidates: the measured ones fastest first, then the unmeasured in negotiate's order.</summary>
    private List<NegotiateRelay> Reorder(IReadOnlyList<NegotiateRelay> relays)
    {
        var ordered = new List<NegotiateRelay>(relays.Count);
        for (int i = 0; i < relays.Count;)
        {
            int end = i;
            while (end < relays.Count && relays[end].Region == relays[i].Region)
            {
                end++;
            }

            ordered.AddRange(relays.Skip(i).Take(end - i)
                .Select((r, n) => (r, n, known: _handshakeTimes.TryGetValue(r.Url, out var t) ? t : (TimeSpan?)null))
                .OrderBy(x => x.known is null).ThenBy(x => x.known ?? TimeSpan.Zero).ThenBy(x => x.n)
                .Select(x => x.r));
            i = end;
        }

        return ordered;
    }

    private Uri WithToken(Uri url)
    {
        var builder = new UriBuilder(url);
        var query = builder.Query.TrimStart('?');
        builder.Query = (query.Length > 0 ? query + "&" : string.Empty) + "access_token=" + Uri.EscapeDataString(_token ?? string.Empty);
        return builder.Uri;
    }
}
