namespace Relay.Contracts.Sessions;

/// <summary>The values of the <c>type</c> field (PROTOCOL.md, "Session protocol").</summary>
public static class FrameTypes
{
    /// <summary>client → core, first message of every connection.</summary>
    public const string Hello = "hello";

    /// <summary>core → client, the answer to a hello.</summary>
    public const string Welcome = "welcome";

    /// <summary>both ways: a numbered message.</summary>
    public const string Message = "msg";

    /// <summary>both ways: an acknowledgement with no message.</summary>
    public const string Ack = "ack";

    /// <summary>core → client: an error (e.g. resume refused).</summary>
    public const string Error = "error";

    /// <summary>client → core: a liveness probe; the core answers with a <see cref="Pong"/> at once.</summary>
    public const string Ping = "ping";

    /// <summary>core → client: the answer to a <see cref="Ping"/>, with its <c>id</c>.</summary>
    public const string Pong = "pong";
}
