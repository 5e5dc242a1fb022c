namespace Relay.Client;

/// <summary>An error reported to the application: an <c>error</c> frame from the core, or a message refused as too big (1009).</summary>
/// <param name="Code">The error code (e.g. <c>session_unknown</c>, <c>buffer_overflow</c>, <c>message_too_big</c>).</param>
/// <param name="Message">Human-readable text.</param>
/// <param name="Seq">The outbound seq concerned, when one is (1009).</param>
public sealed record RelayClientError(string Code, string Message, long? Seq);
