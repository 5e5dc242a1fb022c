using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Relay.Gateway.Upgrade;

/// <summary>
/// A TLS connection the relay accepted and decrypted itself (<see cref="SocketUpgrade"/>, issue 21) that is not a session
/// on its own socket (HTTP/2, other requests, a frame sent before the 101, a head longer than the relay's parser takes,
/// permessage-deflate when on): handed to Kestrel's HTTP stack as a connection whose
/// transport is the decrypted stream, with the bytes already read from it first. Kestrel picks HTTP/2 or HTTP/1.1 from
/// <see cref="ITlsApplicationProtocolFeature"/> (ALPN) and gives its requests the https scheme from
/// <see cref="ITlsConnectionFeature"/>, as on a connection its own TLS middleware decrypted.
/// </summary>
/// <remarks>
/// Like Kestrel's socket transport, it reads ahead into the input pipe (up to <see cref="MaxBufferedInput"/>), waiting
/// with a zero-byte read so that an idle connection holds no buffer, and fires <see cref="ConnectionClosed"/> once the
/// client has gone: Kestrel aborts the requests in flight then (<c>RequestAborted</c>: a forwarded request stops
/// waiting for the core). The TLS details are copied at the hand-over, so the features still answer after an abort.
/// </remarks>
internal sealed class DecryptedConnection : ConnectionContext, ITlsConnectionFeature, ITlsApplicationProtocolFeature, ITlsHandshakeFeature
{
    /// <summary>Decrypted input read ahead of Kestrel, at most (Kestrel's <c>MaxRequestBufferSize</c> as the gateway sets it).</summary>
    public const int MaxBufferedInput = 64 * 1024;

    private static long s_ids;
    private readonly Socket _socket;
    private readonly SslStream _tls;
    private readonly Pipe _input = new(new PipeOptions(pauseWriterThreshold: MaxBufferedInput, resumeWriterThreshold: MaxBufferedInput / 2, useSynchronizationContext: false));
    private readonly CancellationTokenSource _closed = new();
    private int _ended;
    private int _closedFired;

    public DecryptedConnection(Socket socket, SslStream tls, ReadOnlyMemory<byte> alreadyRead)
    {
        _socket = socket;
        _tls = tls;
        ConnectionId = "tls-" + Interlocked.Increment(ref s_ids).ToString(System.Globalization.CultureInfo.InvariantCulture);
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ApplicationProtocol = tls.NegotiatedApplicationProtocol.Protocol.ToArray();
        Protocol = tls.SslProtocol;
        NegotiatedCipherSuite = tls.NegotiatedCipherSuite;
        HostName = tls.TargetHostName;
#pragma warning disable SYSLIB0058 // obsolete members the interface still has
        CipherAlgorithm = tls.CipherAlgorithm;
        CipherStrength = tls.CipherStrength;
        HashAlgorithm = tls.HashAlgorithm;
        HashStrength = tls.HashStrength;
        KeyExchangeAlgorithm = tls.KeyExchangeAlgorithm;
        KeyExchangeStrength = tls.KeyExchangeStrength;
#pragma warning restore SYSLIB0058
        Transport = new DuplexPipe(_input.Reader, PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true)));
        Features.Set<ITlsConnectionFeature>(this);
        Features.Set<ITlsApplicationProtocolFeature>(this);
        Features.Set<ITlsHandshakeFeature>(this);
        Features.Set<IConnectionSocketFeature>(new SocketFeature(socket));
        ConnectionClosed = _closed.Token;
        _ = ReadAheadAsync(alreadyRead);
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get; set; }

    // ITlsConnectionFeature: no client certificates on the client listener.
    public X509Certificate2? ClientCertificate { get => null; set { } }

    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult<X509Certificate2?>(null);

    public ReadOnlyMemory<byte> ApplicationProtocol { get; }

    public SslProtocols Protocol { get; }

    public TlsCipherSuite? NegotiatedCipherSuite { get; }

    public string HostName { get; }

#pragma warning disable SYSLIB0058 // obsolete members the interface still has
    public CipherAlgorithmType CipherAlgorithm { get; }

    public int CipherStrength { get; }

    public HashAlgorithmType HashAlgorithm { get; }

    public int HashStrength { get; }

    public ExchangeAlgorithmType KeyExchangeAlgorithm { get; }

    public int KeyExchangeStrength { get; }
#pragma warning restore SYSLIB0058

    /// <summary>Kestrel gives up on the connection (a timeout, its stop): the socket goes, which ends every pending read and write.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        _socket.Dispose();
        FireClosed();
    }

    /// <summary>Kestrel is done with it: the client gets a FIN once what was written is out.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        try
        {
            await Transport.Output.CompleteAsync().ConfigureAwait(false); // anything still buffered goes out first
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // already aborted or reset
        }

        _tls.Dispose();
        _socket.Dispose();
        FireClosed();
    }

    private async Task ReadAheadAsync(ReadOnlyMemory<byte> alreadyRead)
    {
        var writer = _input.Writer;
        Exception? error = null;
        try
        {
            if (!alreadyRead.IsEmpty && (await writer.WriteAsync(alreadyRead).ConfigureAwait(false)).IsCompleted)
            {
                return; // Kestrel stopped reading
            }

            while (true)
            {
                await _tls.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false); // no buffer held while the client is idle
                var memory = writer.GetMemory(4096);
                int n = await _tls.ReadAsync(memory).ConfigureAwait(false);
                if (n == 0)
                {
                    break; // the client closed its side
                }

                writer.Advance(n);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break; // Kestrel stopped reading
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException or InvalidOperationException)
        {
            error = new ConnectionResetException(e.Message, e);
        }
        finally
        {
            await writer.CompleteAsync(error).ConfigureAwait(false);
            FireClosed();
        }
    }

    /// <summary>Once, on the thread pool (as Kestrel's transports do): its callbacks may take Kestrel's output locks.</summary>
    private void FireClosed()
    {
        if (Interlocked.Exchange(ref _closedFired, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static closed => closed.Cancel(), _closed, preferLocal: false);
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
}
