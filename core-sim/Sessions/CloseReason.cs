namespace Relay.CoreSim.Sessions;

/// <summary>How a connection is told its session ended here: the error frame's code and message, then the close code.</summary>
internal sealed record CloseReason(string Code, string Message, int CloseCode);
