using Microsoft.Extensions.Options;
using Relay.Contracts.Sessions;
using Relay.Gateway.Configuration;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Health;

/// <summary>Sessions: count, send-queue depth, slow consumers (1013 closes), websocket ping RTT is left to the client.</summary>
internal sealed class SessionSignal(GatewayMetrics metrics, IOptions<GatewayOptions> options) : IHealthSignal
{
    private readonly HealthOptions _health = options.Value.Health;
    private long _lastSlow;

    public string Name => "sessions";

    public HealthReading Read()
    {
        long slow = metrics.Closes(CloseCodes.TryAgainLater);
        long newSlow = slow - _lastSlow;
        _lastSlow = slow;
        long queued = metrics.SendQueueBytes;
        var values = new Dictionary<string, object?>
        {
            ["sessions"] = metrics.Sessions,
            ["opens"] = metrics.Opens,
            ["messagesIn"] = metrics.MessagesIn,
            ["messagesOut"] = metrics.MessagesOut,
            ["messagesPaced"] = metrics.MessagesPaced,
            ["sendQueueBytes"] = queued,
            ["slowConsumersClosed"] = slow,
            ["closesByCode"] = metrics.ClosesByCode(),
        };
        return queued > _health.SendQueueDegradedBytes
            ? new HealthReading(HealthLevel.Degraded, $"sessions: {queued / (1024 * 1024)} MiB queued for slow clients ({newSlow} closed with 1013 just now)", values)
            : HealthReading.Healthy(values);
    }
}
