namespace Relay.Client;

/// <summary>A message from the core, delivered to the application exactly once and in order.</summary>
/// <param name="Seq">The core's seq for this session.</param>
/// <param name="Room">The room, or null for an echo.</param>
/// <param name="From">The sender's subject for room messages.</param>
/// <param name="Body">The body: the string when the JSON body is a string, otherwise its raw JSON.</param>
public sealed record ChatMessage(long Seq, string? Room, string? From, string Body);
