using System.Net;
using System.Net.WebSockets;
using Relay.Client.Internal;
using Relay.Contracts.Sessions;

namespace Relay.Client;

public sealed partial class RelayClient
{
    private async Task RunAsync()
    {
        var ct = _stopping.Token;
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
                if (failures >= _options.MaxReconnectAttempts)
                {
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
                        failures++;
                        immediate = step.Immediate;
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
                failures = outcome.Welcomed ? 0 : failures + 1;
                switch (outcome.CloseCode)
                {
                    case CloseCodes.Normal:
                        if (!outcome.TakenOver)
                        {
                            return;
                        }

                        // Another connection took this session over: this client stops here.
                        return;
                    case CloseCodes.Draining:
                        immediate = true;
                        break;
                    case CloseCodes.TokenExpired:
                        _token = null;
                        immediate = true;
                        break;
                    case CloseCodes.SessionUnknown:
                        ResetSession();
                        immediate = true;
                        break;
                    case CloseCodes.TooBig:
                        lock (_gate)
                        {
                            _dropNextAfterWelcome = true;
                        }

                        failures = Math.Max(failures, 1);
                        break;
                    default:
                        failures = Math.Max(failures, 1);
                        break;
                }

                // With negotiate: the next candidate at once after a welcomed connection, or while the list has one left.
                if (_options.NegotiateUrl is not null)
                {
                    immediate |= outcome.Welcomed || (_plan is not null && _planIndex < _plan.Relays.Count);
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
            for (int i = 0; i < _pending.Count; i++)
            {
                _pending[i].Seq = i + 1;
            }

            _outSeq = _pending.Count;
        }
    }

    /// <summary>Applies a welcome; returns the seq already sent (everything after it is resent).</summary>
    private long OnWelcome(ServerFrame welcome, out long droppedSeq)
    {
        droppedSeq = 0;
        lock (_gate)
        {
            if (!welcome.Resumed)
            {
                _inSeq = 0;
                for (int i = 0; i < _pending.Count; i++)
                {
                    _pending[i].Seq = i + 1;
                }

                _outSeq = _pending.Count;
            }

            _session = welcome.Session;
            _resumeToken = welcome.ResumeToken;
        }

        if (welcome.Resumed)
        {
            Acknowledge(welcome.LastSeq);
        }

        lock (_gate)
        {
            if (_dropNextAfterWelcome && _pending.Count > 0)
            {
                // 1009: the core processed up to lastSeq, so the next one is the message that was too big.
                droppedSeq = _pending[0].Seq;
                _pending.RemoveAt(0);
                foreach (var p in _pending)
                {
                    p.Seq--;
                }

                _outSeq--;
            }

            _dropNextAfterWelcome = false;
            return welcome.Resumed ? welcome.LastSeq : 0;
        }
    }
}
