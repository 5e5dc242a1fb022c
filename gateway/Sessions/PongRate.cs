namespace Relay.Gateway.Sessions;

/// <summary>
/// How many pongs one session's websocket writes: at most the session's message rate (<c>Gateway:MessagesPerSecond</c>,
/// a burst of <c>Gateway:MessageBurst</c>); a ping beyond it gets no pong of its own (RFC 6455 §5.5.3 lets an endpoint
/// answer only the latest of several pings). The websocket answers every ping itself, below the session's message rate:
/// 20,000 six-byte pings in one write made the relay write 20,000 pongs, a system call each (a review, 2026-12-04).
/// The pong is recognised by the frame the websocket writes: a server's frames are unmasked and each is one write
/// whose first byte is FIN | opcode 0xA for a pong. The state is two fields of the session's stream.
/// </summary>
internal sealed class PongRate(double perSecond, double burst, TimeProvider time)
{
    private const byte PongHeader = 0x8A;

    /// <summary>Whether <paramref name="frame"/> is a pong this session may not write now (it then takes a token).</summary>
    public bool Drops(ReadOnlySpan<byte> frame, ref double tokens, ref long stamp)
    {
        if (frame.IsEmpty || frame[0] != PongHeader)
        {
            return false;
        }

        long now = time.GetTimestamp();
        tokens = stamp == 0 ? burst : Math.Min(burst, tokens + (time.GetElapsedTime(stamp, now).TotalSeconds * perSecond));
        stamp = now;
        if (tokens < 1)
        {
            return true;
        }

        tokens -= 1;
        return false;
    }
}
