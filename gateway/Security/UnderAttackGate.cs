using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;

namespace Relay.Gateway.Security;

/// <summary>
/// Under Attack mode at admission, after the token is verified: the connection-rate limits (while the mode is on, or
/// always with <see cref="UnderAttackOptions.RateLimitAlways"/>), then, while the mode is on, the proof of work for a
/// new session. A resume is exempt: a token <c>sub</c> (with its <c>site</c>) that had a session on this relay within
/// <see cref="UnderAttackOptions.ResumeWindow"/> — one open now, or admitted or open within the window.
/// </summary>
internal sealed class UnderAttackGate : IDisposable
{
    /// <summary>The start of every challenge refusal's body: the SDKs and a person reading it see what to do.</summary>
    public const string ChallengeRequired = "challenge required";

    private readonly UnderAttackOptions _options;
    private readonly UnderAttackMode _mode;
    private readonly ChallengeIssuer _challenges;
    private readonly UnderAttackMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly Func<IEnumerable<string>> _openSessions;
    private readonly ConnectionRateLimits _limits;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly ITimer _sweep;

    /// <param name="openSessions">The session keys (<c>site/sub</c>) open on the relay now, read every quarter of the resume window.</param>
    public UnderAttackGate(IOptions<UnderAttackOptions> options, UnderAttackMode mode, ChallengeIssuer challenges, UnderAttackMetrics metrics, TimeProvider time, Func<IEnumerable<string>> openSessions)
    {
        _options = options.Value;
        _mode = mode;
        _challenges = challenges;
        _metrics = metrics;
        _time = time;
        _openSessions = openSessions;
        _limits = new ConnectionRateLimits(_options);
        var every = TimeSpan.FromTicks(Math.Max(_options.ResumeWindow.Ticks / 4, TimeSpan.TicksPerSecond));
        _sweep = time.CreateTimer(static g => ((UnderAttackGate)g!).Sweep(), this, every, every);
    }

    /// <summary>Null to admit; else the refusal. <paramref name="claims"/> are the verified token's.</summary>
    public GateRefusal? Check(IPAddress ip, string? pow, TokenClaims claims)
    {
        bool on = _mode.IsOn;
        if ((on || _options.RateLimitAlways) && _limits.TryAcquire(ip) is { } limited)
        {
            return Refuse(ip, limited, $"too many new sessions from {(limited == "rate-address" ? "this address" : "this network")}; try again later");
        }

        var now = _time.GetUtcNow();
        string key = $"{claims.Site}/{claims.Subject}"; // the session key, as RelaySession.Key
        if (!on || (_seen.TryGetValue(key, out var seen) && now - seen <= _options.ResumeWindow))
        {
            _seen[key] = now;
            return null;
        }

        if (string.IsNullOrEmpty(pow))
        {
            return Refuse(ip, "challenge-required", $"{ChallengeRequired}: the relay is under attack; GET /challenge, find a nonce so that SHA-256(challenge + nonce) has 'difficulty' leading zero bits, connect again with pow=<challenge>.<nonce>");
        }

        var result = _challenges.Verify(pow, ip);
        if (result == ChallengeResult.Valid)
        {
            _seen[key] = now;
            return null;
        }

        string reason = "challenge-" + result.ToString().ToLowerInvariant();
        return Refuse(ip, reason, $"{ChallengeRequired}: the solution was refused ({result.ToString().ToLowerInvariant()}); GET /challenge for a new one");
    }

    /// <summary>Marks the sessions open now as seen and forgets keys older than the resume window.</summary>
    internal void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (string key in _openSessions())
        {
            _seen[key] = now;
        }

        foreach (var (key, seen) in _seen)
        {
            if (now - seen > _options.ResumeWindow)
            {
                _seen.TryRemove(new KeyValuePair<string, DateTimeOffset>(key, seen));
            }
        }
    }

    public void Dispose()
    {
        _sweep.Dispose();
        _limits.Dispose();
    }

    private GateRefusal Refuse(IPAddress client, string reason, string message)
    {
        _metrics.Refused(reason, client);
        return new GateRefusal(StatusCodes.Status429TooManyRequests, reason, message);
    }
}
