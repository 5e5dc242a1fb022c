using System.IO.Pipelines;
using System.Net;
using System.Diagnostics.Metrics;

namespace Relay.Tunnel.Pool;

/// <summary>Options of the relay-side link pool.</summary>
public sealed class LinkPoolOptions
{
    /// <summary>This relay's id, unique in the fleet. Required.</summary>
    public string RelayId { get; set; } = string.Empty;

    /// <summary>This relay's region (e.g. "ap-southeast"). Defaults to "local".</summary>
    public string Region { get; set; } = "local";

    /// <summary>Core endpoints as "host:port". Required; at least one.</summary>
    public IList<string> Endpoints { get; set; } = new List<string>();

    /// <summary>Links kept open to each endpoint. Defaults to 4.</summary>
    public int LinksPerEndpoint { get; set; } = 4;

    /// <summary>First reconnect delay; doubles per failed attempt, with jitter. Defaults to 100 ms.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest reconnect delay. Defaults to 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TCP connect timeout. Defaults to 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the pool's single heartbeat timer ticks. Defaults to 250 ms.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Where the pool's meter (<c>Relay.Tunnel</c>) comes from: the host's factory, so its exporter sees this
    /// pool's backhaul and no other. Defaults to null: a meter of the pool's own.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>Link-level options (key, windows, heartbeat, timeouts) and the time source every timer of the pool reads.</summary>
    public LinkOptions Link { get; set; } = new();

    /// <summary>
    /// Opens the connection to a core endpoint. Defaults to null: a TCP socket within <see cref="ConnectTimeout"/>.
    /// Tests connect in-memory pipes here.
    /// </summary>
    internal Func<EndPoint, CancellationToken, Task<IDuplexPipe>>? Connect { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RelayId) || RelayId.Length > 64)
        {
            throw new ArgumentException("RelayId: required, at most 64 characters.");
        }

        if (Endpoints.Count == 0)
        {
            throw new ArgumentException("Endpoints: at least one core endpoint (host:port) is required.");
        }

        foreach (var endpoint in Endpoints)
        {
            try
            {
                LinkTransport.ParseEndPoint(endpoint);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Endpoints: {e.Message}", e);
            }
        }

        if (LinksPerEndpoint is < 1 or > 64)
        {
            throw new ArgumentException($"LinksPerEndpoint: must be between 1 and 64; was {LinksPerEndpoint}.");
        }

        if (ReconnectBaseDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectBaseDelay)
        {
            throw new ArgumentException("ReconnectBaseDelay/ReconnectMaxDelay: base must be positive and not above max.");
        }

        Link.Validate();
    }
}
