namespace Relay.Gateway.Sessions;

/// <summary>The session's token expiry: at <c>exp</c> the gateway closes it with 4003 (token expired, PROTOCOL).</summary>
internal sealed partial class RelaySession
{
    private ITimer? _expiry;

    /// <summary>
    /// Closes the session with 4003 when its token expires (<paramref name="expiresAt"/>, on <paramref name="time"/>).
    /// The client fetches a new token and resumes the session; what the core sent meanwhile stays in its replay buffer.
    /// One timer per session, disposed when the session ends.
    /// </summary>
    public void CloseAtExpiry(DateTimeOffset expiresAt, TimeProvider time)
    {
        if (expiresAt == DateTimeOffset.MaxValue)
        {
            return;
        }

        var due = expiresAt - time.GetUtcNow();
        _expiry = time.CreateTimer(static s => ((RelaySession)s!).OnTokenExpired(), this, due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private void OnTokenExpired()
    {
        Log.TokenExpired(_logger, Key);
        RequestClose(4003, "token expired");
    }

    private void StopExpiryTimer() => _expiry?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(1105, LogLevel.Debug, "Session {Key}: its token expired; closed with 4003")]
        public static partial void TokenExpired(ILogger logger, string key);
    }
}
