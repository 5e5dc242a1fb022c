using System.Buffers.Text;
using System.Security.Cryptography;

namespace Relay.Contracts.Sessions;

/// <summary>
/// Issue 22: the relay welcomes a fresh session itself. It mints the session id and resume token, carries both in the
/// stream's OPEN claims (<see cref="SessionClaim"/>, <see cref="ResumeTokenClaim"/>), and answers a fresh hello at once;
/// the core adopts the id and sends no welcome of its own. Both sides decide "fresh" with <see cref="IsFreshHello"/> over
/// the same bytes, so they always agree on who welcomes: a hello over <see cref="MaxHelloBytes"/>, a resume, a hello that
/// names rooms, or anything that is not a hello is left to the core as before.
/// </summary>
public static class EdgeWelcome
{
    /// <summary>OPEN claim: the session id the relay minted (32 lower-case hex digits, as the core's own).</summary>
    public const string SessionClaim = "relay.session";

    /// <summary>OPEN claim: the resume token the relay minted (base64url of 24 random bytes, as the core's own).</summary>
    public const string ResumeTokenClaim = "relay.resumeToken";

    /// <summary>The largest hello the relay parses; a larger one is passed through unread and the core welcomes it.</summary>
    public const int MaxHelloBytes = 4096;

    private const int TokenBytes = 24;

    /// <summary>A new session id and resume token (the same formats and entropy as the core's own).</summary>
    public static (string Session, string ResumeToken) Mint() =>
        (Guid.NewGuid().ToString("N"), Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TokenBytes)));

    /// <summary>True when <paramref name="message"/> is a hello that starts a new session (no <c>resume</c>) and joins no
    /// rooms, at most <see cref="MaxHelloBytes"/> long. A hello with <c>rooms</c> is the core's to welcome: its welcome
    /// comes once the rooms are joined, so every room message sent after it reaches the session. An edge welcome would
    /// come before the core has read the hello, and a member's message sent after it could be dispatched first and miss
    /// the session while later ones reach it (a gap: lost).</summary>
    public static bool IsFreshHello(ReadOnlyMemory<byte> message) =>
        message.Length <= MaxHelloBytes && ClientFrame.Parse(message) is { Type: FrameTypes.Hello, ResumeSession: null, Rooms.Count: 0 };

    /// <summary>The id and token an OPEN carries, when both are present and well formed.</summary>
    public static bool TryRead(IReadOnlyDictionary<string, string> claims, out string session, out string resumeToken)
    {
        session = resumeToken = string.Empty;
        if (!claims.TryGetValue(SessionClaim, out var id) || !claims.TryGetValue(ResumeTokenClaim, out var token)
            || id.Length != 32 || !id.All(char.IsAsciiHexDigitLower)
            || token.Length != Base64Url.GetEncodedLength(TokenBytes) || !Base64Url.IsValid(token))
        {
            return false;
        }

        session = id;
        resumeToken = token;
        return true;
    }
}
