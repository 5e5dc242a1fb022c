using System.IO.Pipelines;

namespace Relay.Tunnel.Tests.TestTransport;

/// <summary>
/// One end of an in-memory connection: what one side writes, the other reads (Kestrel's
/// <c>test/InMemory.FunctionalTests/TestTransport</c> does the same for its connections).
/// </summary>
internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;

    /// <summary>Two connected ends; the core's writes wait once <paramref name="pauseWriterThreshold"/> bytes are unread (0: the pipe's default).</summary>
    public static (DuplexPipe Relay, DuplexPipe Core) CreatePair(long pauseWriterThreshold = 0)
    {
        var options = new PipeOptions(useSynchronizationContext: false);
        var toCore = new Pipe(options);
        var toRelay = new Pipe(pauseWriterThreshold > 0 ? new PipeOptions(useSynchronizationContext: false, pauseWriterThreshold: pauseWriterThreshold, resumeWriterThreshold: pauseWriterThreshold / 2) : options);
        return (new DuplexPipe(toRelay.Reader, toCore.Writer), new DuplexPipe(toCore.Reader, toRelay.Writer));
    }
}
