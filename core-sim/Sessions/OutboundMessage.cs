namespace Relay.CoreSim.Sessions;

/// <summary>A message core → client, kept until the client acknowledges its seq.</summary>
/// <param name="Seq">Per-session outbound seq, from 1.</param>
/// <param name="Room">The room, or null for an echo.</param>
/// <param name="From">The sender's <c>sub</c> (room messages).</param>
/// <param name="BodyJson">The body as raw JSON, passed through unread.</param>
/// <param name="Bytes">UTF-8 bytes of body, room and sender: what it counts against CoreSim:MaxUnacknowledgedBytes.</param>
internal sealed record OutboundMessage(long Seq, string? Room, string? From, string BodyJson, int Bytes);
