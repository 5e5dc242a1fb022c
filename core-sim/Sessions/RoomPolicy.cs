using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Sessions;

/// <summary>
/// Which rooms a token's claims may join. Rooms are per site (a session is only ever in rooms of its own <c>site</c>).
/// An operator may join any room of its site; a visitor only its own support room, the room named by its <c>sub</c>
/// (so one visitor cannot read or write another visitor's conversation).
/// </summary>
internal static class RoomPolicy
{
    public static bool MayJoin(TokenClaims claims, string room) =>
        claims.Role == "operator" || (claims.Role == "visitor" && string.Equals(room, claims.Subject, StringComparison.Ordinal));
}
