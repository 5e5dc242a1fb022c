namespace Relay.Gateway.Sessions;

/// <summary>
/// ASP.NET Core's upgraded transport (an HTTP/1.1 upgrade or an HTTP/2 extended CONNECT stream) with the session's pongs
/// paced (<see cref="PongRate"/>); everything else goes straight through.
/// </summary>
internal sealed class PacedStream(Stream inner) : AsyncDuplexStream
{
    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(destination, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        DropsPong(source) ? ValueTask.CompletedTask : inner.WriteAsync(source, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
