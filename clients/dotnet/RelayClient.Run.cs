using System.Net;
using System.Net.WebSockets;
using Relay.Client.Internal;
using Relay.Contracts.Sessions;

namespace Relay.Client;

public sealed partial class RelayClient
{
    /// <summary>
    /// Connects, runs each connection until it ends, and reconnects. The count of failures in a row grows with every failed
    /// attempt and every close, and goes back to 0 only when a welcomed connection that lived
    /// <see cref="RelayClientOptions.StableSession"/> closes; the next attempt waits <see cref="Backoff"/> of it, except
    /// after a drain (4001) or going-away (1001) close of such a stable session: then at once. With negotiate the next
    /// candidate waits the same (a core that welcomes and closes at once is never retried in a loop).
    /// </summary>
    private async Task RunAsync()
    {
        var ct = _stopping.Token;
        string ending = "the application closed the client";
        int failures = 0;
        int attempt = 0;
        bool immediate = true;
        string? lastReason = null;
        int? lastCode = null;
        Uri? solvedUrl = null; // the URL to connect to again, with a solved Under Attack challenge
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (_options.MaxReconnectAttempts > 0 && failures >= _options.MaxReconnectAttempts)
                {
                    ending = $"gave up after {failures} failed attempts in a row (MaxReconnectAttempts): {lastReason}";
                    _firstWelcome.TrySetException(new WebSocketException($"could not connect after {failures} attempts: {lastReason}"));
                    break;
                }

                if (!immediate)
                {
                    await Task.Delay(Backoff(failures), _options.TimeProvider, ct).ConfigureAwait(false);
                }

                immediate = false;
                SetState(attempt == 0 ? RelayClientState.Connecting : RelayClientState.Reconnecting, lastCode, lastReason);
                lastCode = null;
                Outcome outcome;
                if (_options.NegotiateUrl is not null)
                {
                    attempt++;
                    var step = await NegotiatedAttemptAsync(ct).ConfigureAwait(false);
                    if (step.Outcome is not { } negotiated)
                    {
                        lastReason = step.Reason;
                        if (step.Final)
                        {
                            // The core refused to renew the token: no attempt can succeed; the application signs in again.
                            lastCode = CloseCodes.TokenExpired;
                            ending = $"the token was refused and cannot be renewed: {lastReason}";
                            _firstWelcome.TrySetException(new WebSocketException(ending));
                            break;
                        }

                        failures++;
                        immediate = step.Immediate && failures == 1; // a refused token, renewed: once at once, then backed off
                        continue;
                    }

                    outcome = negotiated;
                }
                else
                {
                    _token ??= await _options.TokenProvider!(ct).ConfigureAwait(false);
                    var url = solvedUrl ?? PickUrl(attempt++);
                    solvedUrl = null;
                    var socket = new ClientWebSocket();
                    socket.Options.CollectHttpResponseDetails = true;
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        timeout.CancelAfter(_options.ConnectTimeout);
                        await ConnectWebSocketAsync(socket, url, timeout.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException && !ct.IsCancellationRequested)
                    {
                        if (socket.HttpStatusCode == HttpStatusCode.Unauthorized)
                        {
                            _token = null;
                        }

                        lastReason = $"connect failed ({(int)socket.HttpStatusCode}): {e.Message}";
                        lastCode = null;
                        bool refused = socket.HttpStatusCode == HttpStatusCode.TooManyRequests;
                        socket.Dispose();
                        failures++;
                        if (refused && !url.Query.Contains("&pow=", StringComparison.Ordinal))
                        {
                            // Maybe Under Attack mode: ask this gateway for a challenge; when it is on, solve it and connect again at once.
                            solvedUrl = await SolveChallengeAsync(url, ct).ConfigureAwait(false);
                            immediate = solvedUrl is not null;
                        }

                        continue;
                    }

                    var connection = new Connection(this, socket);
                    outcome = await connection.RunAsync(ct).ConfigureAwait(false);
                }

                lastReason = outcome.Reason;
                lastCode = outcome.CloseCode;
                bool stable = outcome.Welcomed && outcome.Lived >= _options.StableSession;
                if (stable)
                {
                    failures = 0;
                }

                switch (outcome.CloseCode)
                {
                    case CloseCodes.Normal:
                        // Closed by the core, or another connection took this session over: this client stops here.
                        ending = outcome.TakenOver ? "the session was taken over by another connection" : $"the core closed the session (1000): {lastReason}";
                        return;
                    case CloseCodes.TokenExpired:
                        _token = null;
                        break;
                    case CloseCodes.SessionUnknown:
                        ResetSession();
                        break;
                    case CloseCodes.TooBig:
                        lock (_gate)
                        {
                            _tooBigBeforeResume = true;
                        }

                        break;
                }

                // At once only after a drain or going-away of a stable session (failures is 0 then); any other close, and
                // any close of a young connection, is one more failure and waits its backoff, next candidate or not.
                immediate = stable && outcome.CloseCode is CloseCodes.Draining or CloseCodes.GoingAway;
                if (!immediate)
                {
                    failures++;
                }

                // Reconnecting from the moment the connection ends (before any backoff), with the code that ended it;
                // unless the application closed the client: then it ends Closed (finally), not reconnecting.
                if (ct.IsCancellationRequested)
                {
                    break;
                }

                SetState(RelayClientState.Reconnecting, lastCode, lastReason);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            _firstWelcome.TrySetException(new WebSocketException("the client closed before the first welcome"));
            End(ending);
            SetState(RelayClientState.Closed, lastCode, lastReason);
            _inbox.Writer.TryComplete();
        }
    }

    /// <summary>4004: the core no longer knows the session. Start fresh; unacknowledged messages are renumbered and resent.</summary>
    private void ResetSession()
    {
        lock (_gate)
        {
            _session = null;
            _resumeToken = null;
            _inSeq = 0;
            _tooBigBeforeResume = false; // no resume welcome will say which message it was: it is sent again, not guessed
            RenumberAfter(0);
        }
    }

    /// <summary>
    /// Applies a welcome: what the core holds (at or below a resume's <c>lastSeq</c>) is acknowledged, the message a 1009
    /// refused is dropped (the first one after a resume's <c>lastSeq</c>: the core took every message before it), and the
    /// rest is renumbered from <c>lastSeq</c> + 1. Returns that <c>lastSeq</c> (0 for a new session): everything after it
    /// is sent on this connection.
    /// </summary>
    private long OnWelcome(ServerFrame welcome, out PendingMessage? dropped)
    {
        dropped = null;
        int released;
        long lastSeq = welcome.Resumed ? Math.Max(0, welcome.LastSeq) : 0;
        lock (_gate)
        {
            if (!welcome.Resumed)
            {
                _inSeq = 0;
            }

            _session = welcome.Session;
            _resumeToken = welcome.ResumeToken;
            released = 0;
            while (released < _pending.Count && _pending[released].Seq <= lastSeq)
            {
                released++;
            }

            _pending.RemoveRange(0, released);
            if (_tooBigBeforeResume && welcome.Resumed && _pending.Count > 0)
            {
                dropped = _pending[0];
                _pending.RemoveAt(0);
                released++;
            }

            _tooBigBeforeResume = false;
            RenumberAfter(lastSeq);
        }

        if (released > 0)
        {
            _slots.Release(released);
        }

        return lastSeq;
    }
}
