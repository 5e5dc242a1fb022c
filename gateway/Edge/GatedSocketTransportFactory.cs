using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
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
internal sealed partial class GatedSocketTransportFactory(IOptions<SocketTransportOptions> options, ConnectionGate gate, ILoggerFactory loggers)
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
        return ValueTask.FromResult<IConnectionListener>(new Listener(socket, factory, gate, o.NoDelay, loggers.CreateLogger<GatedSocketTransportFactory>()));
    }

    private sealed class Listener(Socket listen, SocketConnectionContextFactory factory, ConnectionGate gate, bool noDelay, ILogger logger) : IConnectionListener
    {
        private static readonly LingerOption s_reset = new(true, 0);
        private readonly CancellationTokenSource _unbound = new();

        public EndPoint EndPoint { get; } = listen.LocalEndPoint!;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
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
                catch (ObjectDisposedException)
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

                if (accepted.RemoteEndPoint is IPEndPoint remote && gate.RefuseAtAccept(remote.Address))
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
                return factory.Create(accepted);
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            _unbound.Cancel();
            listen.Dispose();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _unbound.Cancel();
            listen.Dispose();
            factory.Dispose();
            _unbound.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
