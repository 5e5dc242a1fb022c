using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Relay.Gateway.Upgrade;

/// <summary>
/// A TLS connection the relay accepted and decrypted itself (<see cref="SocketUpgrade"/>, issue 21) that is not a session
/// on its own socket (HTTP/2, other requests, a head in pieces): handed to Kestrel's HTTP stack as a connection whose
/// transport is the decrypted stream, with the bytes already read from it first. Kestrel picks HTTP/2 or HTTP/1.1 from
/// <see cref="ITlsApplicationProtocolFeature"/> (ALPN) and gives its requests the https scheme from
/// <see cref="ITlsConnectionFeature"/>, as on a connection its own TLS middleware decrypted.
/// </summary>
internal sealed class DecryptedConnection : ConnectionContext, ITlsConnectionFeature, ITlsApplicationProtocolFeature, ITlsHandshakeFeature
{
    private static long s_ids;
    private readonly Socket _socket;
    private readonly SslStream _tls;
    private readonly CancellationTokenSource _closed = new();
    private int _ended;

    public DecryptedConnection(Socket socket, SslStream tls, ReadOnlyMemory<byte> alreadyRead)
    {
        _socket = socket;
        _tls = tls;
        ConnectionId = "tls-" + Interlocked.Increment(ref s_ids).ToString(System.Globalization.CultureInfo.InvariantCulture);
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        Stream input = alreadyRead.IsEmpty ? tls : new PrefixedReadStream(alreadyRead, tls);
        Transport = new DuplexPipe(
            PipeReader.Create(input, new StreamPipeReaderOptions(leaveOpen: true)),
            PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true)));
        Features.Set<ITlsConnectionFeature>(this);
        Features.Set<ITlsApplicationProtocolFeature>(this);
        Features.Set<ITlsHandshakeFeature>(this);
        Features.Set<IConnectionSocketFeature>(new SocketFeature(socket));
        ConnectionClosed = _closed.Token;
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get; set; }

    // ITlsConnectionFeature: no client certificates on the client listener.
    public X509Certificate2? ClientCertificate { get => null; set { } }

    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult<X509Certificate2?>(null);

    public ReadOnlyMemory<byte> ApplicationProtocol => _tls.NegotiatedApplicationProtocol.Protocol;

    public System.Security.Authentication.SslProtocols Protocol => _tls.SslProtocol;

    public TlsCipherSuite? NegotiatedCipherSuite => _tls.NegotiatedCipherSuite;

    public string HostName => _tls.TargetHostName;

#pragma warning disable SYSLIB0058 // obsolete members the interface still has
    public System.Security.Authentication.CipherAlgorithmType CipherAlgorithm => _tls.CipherAlgorithm;

    public int CipherStrength => _tls.CipherStrength;

    public System.Security.Authentication.HashAlgorithmType HashAlgorithm => _tls.HashAlgorithm;

    public int HashStrength => _tls.HashStrength;

    public System.Security.Authentication.ExchangeAlgorithmType KeyExchangeAlgorithm => _tls.KeyExchangeAlgorithm;

    public int KeyExchangeStrength => _tls.KeyExchangeStrength;
#pragma warning restore SYSLIB0058

    public override void Abort(ConnectionAbortedException abortReason) => End(reset: true);

    public override ValueTask DisposeAsync()
    {
        End(reset: false);
        return ValueTask.CompletedTask;
    }

    private void End(bool reset)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        try
        {
            if (!reset)
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _tls.Dispose();
        _socket.Dispose(); // an abort wakes whoever reads or writes with an error, as Kestrel's own transport does
        try
        {
            _closed.Cancel();
        }
        catch (AggregateException)
        {
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private sealed class SocketFeature(Socket socket) : IConnectionSocketFeature
    {
        public Socket Socket { get; } = socket;
    }

    /// <summary>The bytes already read from the TLS stream first, then the stream.</summary>
    private sealed class PrefixedReadStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_prefix.IsEmpty)
            {
                return inner.ReadAsync(buffer, cancellationToken);
            }

            int n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer.Span);
            _prefix = _prefix[n..];
            return ValueTask.FromResult(n);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
