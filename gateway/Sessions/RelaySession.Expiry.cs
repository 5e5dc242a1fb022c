namespace Relay.Gateway.Sessions;

/// <summary>The session's token expiry: at <c>exp</c> the gateway closes it with 4003 (token expired, PROTOCOL).</summary>
internal sealed partial class RelaySession
{
    private SessionExpiry? _expiry;
    private long _expirySecond;

    /// <summary>
    /// Closes the session with 4003 when its token expires (<paramref name="expiresAt"/>), through the gateway's one
    /// expiry timer (<see cref="SessionExpiry"/>, issue 21: no timer per session); the session leaves it when it ends.
    /// The client fetches a new token and resumes the session; what the core sent meanwhile stays in its replay buffer.
    /// </summary>
    public void CloseAtExpiry(DateTimeOffset expiresAt, SessionExpiry expiry)
    {
        if (expiresAt == DateTimeOffset.MaxValue)
        {
            return;
        }

        _expirySecond = expiry.Add(this, expiresAt);
        _expiry = expiry;
    }

    /// <summary>From <see cref="SessionExpiry"/>'s timer, once the token has expired.</summary>
    internal void OnTokenExpired()
    {
        Log.TokenExpired(_logger, Key);
        RequestClose(4003, "token expired");
    }

    private void StopExpiryTimer() => _expiry?.Remove(this, _expirySecond);

    private static partial class Log
    {
        [LoggerMessage(1105, LogLevel.Debug, "Session {Key}: its token expired; closed with 4003")]
        public static partial void TokenExpired(ILogger logger, string key);
    }
}
