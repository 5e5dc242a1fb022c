using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// The response body while a stale copy could stand in for the origin: passes everything through, unless at the first
/// write or start the status says the origin failed (<paramref name="failed"/>); then the origin's error is dropped
/// unsent, so the response can still be answered from the stale entry.
/// </summary>
internal sealed class SuppressingBodyFeature(IHttpResponseBodyFeature prior, Func<bool> failed) : IHttpResponseBodyFeature
{
    private bool? _suppress;
    private GuardStream? _stream;
    private PipeWriter? _writer;

    public bool Suppressed => _suppress == true;

    public Stream Stream => _stream ??= new GuardStream(this);

    public PipeWriter Writer => _writer ??= PipeWriter.Create(Stream, new StreamPipeWriterOptions(leaveOpen: true));

    private bool Suppress => _suppress ??= failed();

    public void DisableBuffering() => prior.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => Suppress ? Task.CompletedTask : prior.StartAsync(cancellationToken);

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        Suppress ? Task.CompletedTask : prior.SendFileAsync(path, offset, count, cancellationToken);

    public async Task CompleteAsync()
    {
        if (_writer is not null)
        {
            await _writer.FlushAsync().ConfigureAwait(false);
        }

        if (!Suppress)
        {
            await prior.CompleteAsync().ConfigureAwait(false);
        }
    }

    private sealed class GuardStream(SuppressingBodyFeature owner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
            if (!owner.Suppress)
            {
                owner.PriorStream.Flush();
            }
        }

        public override Task FlushAsync(CancellationToken cancellationToken) =>
            owner.Suppress ? Task.CompletedTask : owner.PriorStream.FlushAsync(cancellationToken);

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (!owner.Suppress)
            {
                owner.PriorStream.Write(buffer, offset, count);
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            owner.Suppress ? ValueTask.CompletedTask : owner.PriorStream.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private Stream PriorStream => prior.Stream;
}
