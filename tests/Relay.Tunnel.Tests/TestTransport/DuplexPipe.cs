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

    /// <summary>Two connected ends.</summary>
    public static (DuplexPipe Relay, DuplexPipe Core) CreatePair()
    {
        var options = new PipeOptions(useSynchronizationContext: false);
        var toCore = new Pipe(options);
        var toRelay = new Pipe(options);
        return (new DuplexPipe(toRelay.Reader, toCore.Writer), new DuplexPipe(toCore.Reader, toRelay.Writer));
    }
}
