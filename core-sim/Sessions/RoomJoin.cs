namespace Relay.CoreSim.Sessions;

/// <summary>What asking to be in a room came to.</summary>
internal enum RoomJoin
{
    /// <summary>The session is in the room (joined now or before).</summary>
    Member,

    /// <summary>The token's claims do not allow the room (<see cref="RoomPolicy"/>).</summary>
    Forbidden,

    /// <summary>The session is already in CoreSim:MaxRoomsPerSession rooms.</summary>
    TooMany,
}
