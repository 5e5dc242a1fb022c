namespace Relay.CoreSim.Sessions;

/// <summary>A room: its name within a site. Two fields, so no site and room name can spell another site's room.</summary>
internal readonly record struct RoomKey(string Site, string Room);
