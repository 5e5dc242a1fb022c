using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Edge;

namespace Relay.Gateway.Security;

/// <summary>
/// Feeds <see cref="UnderAttackMode"/>: every connection the client listeners accept (<see cref="ConnectionGate.Accepted"/>,
/// counted at accept: sessions on their own sockets are not Kestrel connections), every connection Kestrel rejects
/// (its own instrument <c>kestrel.rejected_connections</c>, this host's only) and every connection the
/// <see cref="ConnectionGate"/> refuses or evicts at its caps, for the automatic trigger; and the core's
/// <see cref="UnderAttackOrder"/>s from the backhaul. While the mode is on the gate gives new connections
/// <see cref="UnderAttackOptions.RequestHeadTimeout"/> for their request head.
/// </summary>
internal sealed class UnderAttackService(
    UnderAttackMode mode, BackhaulService backhaul, ConnectionGate gate, IOptions<UnderAttackOptions> options, IMeterFactory meterFactory) : IHostedService, IDisposable
{
    private const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";
    private MeterListener? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        backhaul.Pool.CommandReceived += OnCommand;
        gate.Refused += mode.Refused;
        gate.Accepted += mode.ConnectionOpened;
        gate.UseUnderAttackMode(() => mode.IsOn, options.Value.RequestHeadTimeout);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == KestrelMeter && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                    && instrument.Name == "kestrel.rejected_connections")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        backhaul.Pool.CommandReceived -= OnCommand;
        gate.Refused -= mode.Refused;
        gate.Accepted -= mode.ConnectionOpened;
        _listener?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _listener?.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        for (long i = 0; i < value; i++)
        {
            mode.Refused(); // kestrel.rejected_connections
        }
    }

    private void OnCommand(string name, ReadOnlyMemory<byte> argument)
    {
        if (name == ControlCodec.UnderAttackCommand && ControlCodec.TryDecode(name, argument.Span, out var order) && order is UnderAttackOrder ua)
        {
            mode.Set(ua.On, UnderAttackMode.Core, ua.On ? "ordered by the core" : "ended by the core");
        }
    }
}
