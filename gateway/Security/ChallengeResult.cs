namespace Relay.Gateway.Security;

/// <summary>What <see cref="ChallengeIssuer.Verify"/> found.</summary>
internal enum ChallengeResult
{
    /// <summary>Issued by this gateway for this address, not expired, solved, not used before.</summary>
    Valid,

    /// <summary>Malformed, not issued by this gateway, or issued for another address.</summary>
    Invalid,

    /// <summary>Issued here for this address, but past its expiry.</summary>
    Expired,

    /// <summary>The nonce does not give the required leading zero bits.</summary>
    Unsolved,

    /// <summary>A solution already used for a session.</summary>
    Replayed,
}
