using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Relay.Gateway.Edge;

/// <summary>
/// Kestrel's socket transport with the <see cref="ConnectionGate"/> asked at accept (issue 16): a connection the gate
/// would close anyway, or a flood's reconnect at the pre-auth cap, is reset right after accept(), before Kestrel
/// builds anything for it (socket connection, pipes, middleware: about 6 KB of garbage and a full setup and teardown
/// each). Measured with <c>./build.sh bench attack</c>: that per-connection work, at a few thousand flood connections a
/// second, was what the legitimate sessions' p99 paid for (CPU and GC pauses). Everything else is Kestrel's own:
/// the listen socket from <see cref="SocketTransportOptions"/>, connections from <see cref="SocketConnectionContextFactory"/>.
/// While the gate is refusing, accept() itself waits for the gate's <see cref="AcceptBudget"/>
/// (<c>Gateway:AcceptsPerSecondWhenRefusing</c>): a flood's surplus then waits in the kernel's listen queue
/// (<c>Gateway:ListenBacklog</c>) instead of costing an accept and a reset each and reconnecting 250 ms later.
/// Registered after Kestrel's factory, so Kestrel picks it for IP endpoints (the last registered wins).
/// </summary>
/// <remarks>
/// The client listeners (bound to a <see cref="ClientEndPoint"/>) own their connections (issue 21): every accepted
/// connection goes to <see cref="IClientConnections"/>, which keeps a session's upgrade on its own socket and hands
/// anything else to Kestrel through <see cref="IConnectionListener.AcceptAsync"/>: untouched, or on the TLS listener
/// already decrypted.
/// </remarks>
internal sealed partial class GatedSocketTransportFactory(IOptions<SocketTransportOptions> options, ConnectionGate gate, ILoggerFactory loggers, IServiceProvider services)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var o = options.Value;
        var socket = o.CreateBoundListenSocket(endpoint);
        socket.Listen(o.Backlog);
        var factory = new SocketConnectionContextFactory(
            new SocketConnectionFactoryOptions
            {
                IOQueueCount = o.IOQueueCount,
                WaitForDataBeforeAllocatingBuffer = o.WaitForDataBeforeAllocatingBuffer,
                MaxReadBufferSize = o.MaxReadBufferSize,
                MaxWriteBufferSize = o.MaxWriteBufferSize,
                UnsafePreferInlineScheduling = o.UnsafePreferInlineScheduling,
            },
            loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        var logger = loggers.CreateLogger<GatedSocketTransportFactory>();
        if (endpoint is ClientEndPoint { Owns: true } client)
        {
            var connections = services.GetRequiredService<IClientConnections>();
            return ValueTask.FromResult<IConnectionListener>(new OwningListener(socket, factory, gate, o.NoDelay, logger, connections, client.Tls));
        }

        return ValueTask.FromResult<IConnectionListener>(new Listener(socket, factory, gate, o.NoDelay, logger, endpoint is ClientEndPoint { Tls: not null }));
    }

    /// <summary>Kestrel's listener: every admitted connection is a Kestrel connection.</summary>
    private sealed class Listener(Socket listen, SocketConnectionContextFactory factory, ConnectionGate gate, bool noDelay, ILogger logger, bool tls)
        : GatedListener(listen, factory, gate, noDelay, logger, tls), IConnectionListener
    {
        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default) =>
            await AcceptSocketAsync(cancellationToken).ConfigureAwait(false) is { } accepted ? Factory.Create(accepted) : null;
    }

    /// <summary>
    /// A client listener: its own accept loop gives every admitted connection to <see cref="IClientConnections"/>;
    /// Kestrel gets, from <see cref="AcceptAsync"/>, only what that hands over.
    /// </summary>
    private sealed class OwningListener : GatedListener, IConnectionListener, IConnectionHandOver
    {
        private readonly Channel<object> _handedOver = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
        private readonly IClientConnections _connections;
        private readonly Tls.CertificateHolder? _tls;

        public OwningListener(Socket listen, SocketConnectionContextFactory factory, ConnectionGate gate, bool noDelay, ILogger logger, IClientConnections connections, Tls.CertificateHolder? tls)
            : base(listen, factory, gate, noDelay, logger, tls is not null)
        {
            _connections = connections;
            _tls = tls;
            _ = Task.Run(AcceptLoopAsync); // until unbound; it completes the hand-over channel when it ends
        }

        public void HandOver(Socket socket)
        {
            if (!_handedOver.Writer.TryWrite(socket))
            {
                socket.Dispose(); // unbound meanwhile
            }
        }

        public void HandOver(ConnectionContext decrypted)
        {
            if (!_handedOver.Writer.TryWrite(decrypted))
            {
                _ = decrypted.DisposeAsync(); // unbound meanwhile
            }
        }

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                while (await _handedOver.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (_handedOver.Reader.TryRead(out var handed))
                    {
                        return handed as ConnectionContext ?? Factory.Create((Socket)handed);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            return null; // unbound
        }

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (await AcceptSocketAsync(Unbound.Token).ConfigureAwait(false) is { } accepted)
                {
                    _ = RunAsync(accepted); // the loop goes on at once: each connection waits for its head on its own
                }
            }
            finally
            {
                _handedOver.Writer.TryComplete();
            }
        }

        private async Task RunAsync(Socket accepted)
        {
            try
            {
                await _connections.RunAsync(accepted, this, _tls).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Log.OwnedConnectionFailed(Logger, e);
                accepted.Dispose();
            }
        }

        protected override void Stopped()
        {
            _handedOver.Writer.TryComplete();
            while (_handedOver.Reader.TryRead(out var left))
            {
                if (left is Socket socket)
                {
                    socket.Dispose();
                }
                else
                {
                    _ = ((ConnectionContext)left).DisposeAsync();
                }
            }
        }
    }

    /// <summary>The gated accept both listeners share.</summary>
    /// <param name="tls">The wss listener: each connection is a TLS handshake (<see cref="ConnectionGate.TlsRate"/>).</param>
    private abstract class GatedListener(Socket listen, SocketConnectionContextFactory factory, ConnectionGate gate, bool noDelay, ILogger logger, bool tls)
    {
        private static readonly LingerOption s_reset = new(true, 0);

        protected CancellationTokenSource Unbound { get; } = new();

        protected SocketConnectionContextFactory Factory => factory;

        protected ILogger Logger => logger;

        public EndPoint EndPoint { get; } = listen.LocalEndPoint!;

        /// <summary>The next connection the gate admits at accept, or null once unbound.</summary>
        protected async ValueTask<Socket?> AcceptSocketAsync(CancellationToken cancellationToken)
        {
            var _unbound = Unbound;
            while (true)
            {
                // While the gate is refusing, at most Gateway:AcceptsPerSecondWhenRefusing: the rest wait in the
                // kernel's listen queue (no CPU of ours), and beyond it the kernel drops their SYNs.
                for (var wait = gate.AcceptWait(); wait > TimeSpan.Zero; wait = gate.AcceptWait())
                {
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
                    try
                    {
                        await Task.Delay(wait, gate.Time, stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return null; // unbound
                    }
                }

                Socket accepted;
                try
                {
                    accepted = await listen.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
                {
                    return null; // unbound
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
                {
                    return null;
                }
                catch (SocketException)
                {
                    continue; // reset before it was accepted: the next one
                }

                if (accepted.RemoteEndPoint is IPEndPoint remote && gate.RefuseAtAccept(remote.Address, tls))
                {
                    Log.ResetAtAccept(logger, remote);
                    try
                    {
                        accepted.LingerState = s_reset; // RST: no FIN_WAIT/TIME_WAIT kept for a refused connection
                    }
                    catch (SocketException)
                    {
                    }

                    accepted.Dispose();
                    continue;
                }

                accepted.NoDelay = noDelay;
                gate.NoteAccepted();
                return accepted;
            }
        }

        /// <summary>After unbinding: what is left to give back.</summary>
        protected virtual void Stopped()
        {
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            Unbound.Cancel();
            listen.Dispose();
            Stopped();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            Unbound.Cancel();
            listen.Dispose();
            Stopped();
            factory.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
