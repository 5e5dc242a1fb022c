namespace Relay.Client;

/// <summary>
/// An error reported to the application: an <c>error</c> frame from the core, or one of the application's messages that
/// will never be delivered (refused as too big, refused by the core, or left unacknowledged when the client closed).
/// </summary>
/// <param name="Code">The error code (e.g. <c>session_unknown</c>, <c>buffer_overflow</c>, <c>message_too_big</c>,
/// <c>room_forbidden</c>, <c>too_many_rooms</c>, <c>seq_gap</c>, <c>closed</c>).</param>
/// <param name="Message">Human-readable text.</param>
/// <param name="Seq">The outbound seq of the failed message, when one message is concerned (its seq when it failed: a
/// welcome renumbers the unacknowledged messages after the core's <c>lastSeq</c>).</param>
/// <param name="Room">The failed message's room, when <paramref name="Seq"/> is set.</param>
/// <param name="BodyJson">The failed message's body (JSON), when <paramref name="Seq"/> is set: it was not delivered and
/// is not sent again.</param>
public sealed record RelayClientError(string Code, string Message, long? Seq, string? Room = null, string? BodyJson = null);
