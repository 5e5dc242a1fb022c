namespace Relay.Gateway.Security;

/// <summary>A proof-of-work challenge as <c>GET /challenge</c> hands it out.</summary>
/// <param name="Value">The challenge (base64url): expiry, difficulty, random bytes and their HMAC over the client's address.</param>
/// <param name="Difficulty">Leading zero bits SHA-256(challenge ‖ nonce) must have.</param>
/// <param name="ExpiresAt">After this the challenge is refused.</param>
internal readonly record struct Challenge(string Value, int Difficulty, DateTimeOffset ExpiresAt);
