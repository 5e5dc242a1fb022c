using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.Contracts.Sessions;
using Relay.CoreSim.Configuration;
using Relay.CoreSim.Faults;
using Relay.CoreSim.Sessions;
using Relay.Contracts.Tokens;
using Relay.Tunnel.Links;
using Relay.Tunnel.Server;
using Relay.Tunnel.Streams;

namespace Relay.CoreSim.Backhaul;

/// <summary>Runs the backhaul link listener and a session for every stream a relay opens.</summary>
internal sealed partial class BackhaulService : IHostedService, IAsyncDisposable
{
    private readonly CoreSimOptions _options;
    private readonly SessionRegistry _registry;
    private readonly FaultState _faults;
    private readonly ILoggerFactory _loggers;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BackhaulHttpListener _http;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _acceptLoop;

    public BackhaulService(IOptions<CoreSimOptions> options, SessionRegistry registry, FaultState faults, TimeProvider time, IMeterFactory meterFactory, ILoggerFactory loggers, BackhaulHttpListener http)
    {
        _http = http;
        _time = time;
        _options = options.Value;
        _registry = registry;
        _faults = faults;
        _loggers = loggers;
        _logger = loggers.CreateLogger<BackhaulService>();
        Listener = new LinkListener(
            new LinkListenerOptions
            {
                EndPoint = new IPEndPoint(IPAddress.Parse(_options.BindAddress), _options.BackhaulPort),
                NodeId = _options.NodeId,
                MeterFactory = meterFactory,
                KeyForRelay = Keyring(_options),
                MaxPendingHandshakes = _options.BackhaulMaxPendingHandshakes,
                MaxPendingHandshakesPerAddress = _options.BackhaulMaxPendingHandshakesPerAddress,
                ReservedHandshakes = _options.BackhaulReservedHandshakes,
                KnownNetworks = RelayNetworks(_options),
                HandshakeTimeout = _options.BackhaulHandshakeTimeout,
                MaxStreamsPerRelay = _options.BackhaulMaxStreamsPerRelay,
                Link = new Relay.Tunnel.Links.LinkOptions { DuplicateFramesUpTo = _options.BackhaulDuplicateFramesUpTo, DuplicateAboveRtt = _options.BackhaulDuplicateAboveRtt, TimeProvider = time },
            },
            loggers.CreateLogger<LinkListener>());
        _faults.RefuseStreamsChanged += on => Listener.RefuseNewStreams = on;
        _faults.RelayBlockChanged += (relay, blocked) =>
        {
            if (blocked)
            {
                Listener.BlockRelay(relay);
            }
            else
            {
                Listener.UnblockRelay(relay);
            }
        };
        _faults.LinkLatencyChanged += (relay, ms) => Listener.SetPongDelay(relay, TimeSpan.FromMilliseconds(ms));
    }

    public LinkListener Listener { get; }

    /// <summary>CoreSim:RelayNetworks as networks (validated at start: every entry parses).</summary>
    private static IPNetwork[] RelayNetworks(CoreSimOptions options) =>
        [.. options.RelayNetworks.Select(text => CoreSimOptions.TryParseRelayNetwork(text, out var network, out _) ? network : throw new InvalidOperationException($"CoreSim:RelayNetworks: '{text}' was not validated."))];

    /// <summary>
    /// The key each relay proves, by the relay id it names: its own from CoreSim:RelayKeys, else CoreSim:SharedKey
    /// (set only in Development; validation refused it elsewhere), else none (refused).
    /// </summary>
    private static Func<string, byte[]?> Keyring(CoreSimOptions options)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (relayId, text) in options.Keyring(out _) ?? []) // validated at start
        {
            if (LinkKey.TryParse(text, development: true, out var key, out _))
            {
                keys[relayId] = key;
            }
        }

        byte[]? fallback = LinkKey.TryParse(options.SharedKey, development: true, out var shared, out _) ? shared : null;
        return relayId => keys.TryGetValue(relayId, out var key) ? key : fallback;
    }

    /// <summary>Sends an encoded order (<see cref="ControlCodec.Encode(CoreOrder)"/>) to a relay; false when it has no open link.</summary>
    public bool Send(string relayId, EncodedOrder order) => Listener.SendCommand(relayId, order.Name, order.Payload);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.RelayKeys.Count == 0 && string.IsNullOrEmpty(_options.RelayKeysDirectory) && string.IsNullOrEmpty(_options.SharedKey))
        {
            Log.NoRelayKeys(_logger);
        }

        Listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        await Listener.DisposeAsync().ConfigureAwait(false);
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }
    }

    private async Task AcceptLoopAsync()
    {
        var sessionLogger = _loggers.CreateLogger<SessionConnection>();
        while (!_stopping.IsCancellationRequested)
        {
            MuxStream stream;
            try
            {
                stream = await Listener.AcceptStreamAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (stream.Info.Kind != Relay.Tunnel.Protocol.StreamKind.Session)
            {
                // Issue 18: an HTTP stream is one HTTP/1.1 connection for Kestrel; a kind this core does not know is refused.
                if (stream.Info.Kind == Relay.Tunnel.Protocol.StreamKind.Http)
                {
                    _http.Offer(stream);
                }
                else
                {
                    stream.Close(StreamCodes.Unsupported, "unknown stream kind");
                }

                continue;
            }

            var claims = TokenClaims.FromDictionary(stream.Info.Claims);
            if (claims is null)
            {
                Log.StreamWithoutClaims(_logger, stream.RelayId);
                stream.Close(CloseCodes.TokenExpired, "no verified claims");
                continue;
            }

            var transport = new MuxStreamTransport(stream);
            stream.ReleaseClaims(); // read (claims, edge session): the stream need not hold them for the session's life
            var connection = new SessionConnection(transport, claims, _registry, _faults, _options, _time, sessionLogger);
            _ = connection.RunAsync(_stopping.Token);
        }
    }
}
