using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Relay.Tunnel.Streams;

namespace Relay.CoreSim.Backhaul;

/// <summary>
/// One backhaul HTTP stream as a Kestrel connection: its bytes through pipes over a <see cref="MuxByteStream"/> (reads
/// one message at a time, writes wait for the stream's credit: the backpressure), with <see cref="IBackhaulHttpFeature"/>.
/// </summary>
internal sealed class BackhaulHttpConnection : ConnectionContext, IBackhaulHttpFeature, IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    private static long s_next;
    private readonly MuxByteStream _stream;
    private readonly Action<BackhaulHttpConnection>? _ended;
    private readonly CancellationTokenSource _closed = new();
    private int _disposed;
    private int _aborted;

    public BackhaulHttpConnection(MuxStream stream, Action<BackhaulHttpConnection>? ended = null)
    {
        _stream = new MuxByteStream(stream);
        _ended = ended;
        RelayId = stream.RelayId;
        OpenClientAddress = stream.Info.ClientAddress;
        StreamId = stream.Id;
        ConnectionId = "backhaul-" + Interlocked.Increment(ref s_next).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Transport = new Duplex(
            PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true)),
            PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true)));
        RemoteEndPoint = IPAddress.TryParse(OpenClientAddress, out var client) ? new IPEndPoint(client, 0) : null;
        Features.Set<IConnectionIdFeature>(this);
        Features.Set<IConnectionTransportFeature>(this);
        Features.Set<IConnectionItemsFeature>(this);
        Features.Set<IConnectionLifetimeFeature>(this);
        Features.Set<IConnectionEndPointFeature>(this);
        Features.Set<IBackhaulHttpFeature>(this);
    }

    public string RelayId { get; }

    public string OpenClientAddress { get; }

    public ulong StreamId { get; }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new ConnectionItems();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get => _closed.Token; set => throw new NotSupportedException(); }

    public override EndPoint? LocalEndPoint { get; set; } = BackhaulHttpEndPoint.Instance;

    public override EndPoint? RemoteEndPoint { get; set; }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return; // Kestrel aborts again from the ConnectionClosed callbacks
        }

        _stream.Inner.Abort(StreamCodes.BackhaulLost, "aborted by core-sim: " + (abortReason?.Message ?? "connection aborted"));
        Cancel();
    }

    /// <summary>Core-sim is stopping: the stream ends now with 1001, a response being written included (the write fails).</summary>
    public void GoAway()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        _stream.Inner.Abort(StreamCodes.GoingAway, "core-sim stopping");
        Cancel();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await Transport.Output.CompleteAsync().ConfigureAwait(false); // flushes what Kestrel wrote last
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The last flush failed: the relay closed the stream or the backhaul lost it (a request it gave up on, a
            // core stopping mid-response). Nothing more can reach it; the connection still ends here. Throwing from
            // here would leave Kestrel holding the connection until its shutdown timeout (30 s at every stop).
            _stream.Inner.Abort(StreamCodes.BackhaulLost, "core-sim could not send the rest of the response: " + ex.Message);
        }
        finally
        {
            await Transport.Input.CompleteAsync().ConfigureAwait(false); // gives its buffers back; the stream is left open to us
            await _stream.DisposeAsync().ConfigureAwait(false); // closes the stream (1000) after the data
            Cancel();
            _ended?.Invoke(this);
            _closed.Dispose();
        }
    }

    private void Cancel()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}
