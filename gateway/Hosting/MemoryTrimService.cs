using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Hosting;

/// <summary>
/// Gives memory back after a burst. The GC keeps the memory a burst of work made it commit (a connect storm's garbage:
/// handshakes, token checks, first messages) for as long as nothing allocates, and an idle relay allocates almost
/// nothing, so after 10,000 sessions connect that memory stays: about 4 KB per session measured, as much as the
/// sessions' own objects. Once the process has been quiet for <see cref="GatewayOptions.IdleMemoryTrimAfter"/> after
/// at least 64 MB of churn, one aggressive, compacting GC returns it (<see cref="GCCollectionMode.Aggressive"/>).
/// Quiet means all three: under 4 MB/s allocated, under 1,000 messages/s relayed (or half a message per second per open
/// session, when that is more), under 10 sessions/s opened (the message path allocates little, so allocation alone does
/// not tell a busy relay from an idle one). The per-session allowance is idle sessions' liveness traffic: a client pings
/// after 5 s of silence and the core answers, 0.4 messages/s per idle session through the relay, so 15,000 idle
/// sessions relay 6,000 messages/s and, counted against 1,000/s, kept the relay "busy" for good: the trim never ran on
/// the relays it is for (issue 21). Busy relays are left to the GC; quiet ones trim once per burst.
/// </summary>
internal sealed partial class MemoryTrimService(IOptions<GatewayOptions> options, GatewayMetrics metrics, TimeProvider time, ILogger<MemoryTrimService> logger) : BackgroundService
{
    /// <summary>Allocation rate under which the process counts as quiet.</summary>
    public const long QuietBytesPerSecond = 4L * 1024 * 1024;

    /// <summary>Messages relayed per second (both ways) under which the process counts as quiet.</summary>
    public const long QuietMessagesPerSecond = 1000;

    /// <summary>Messages relayed per second per open session under which the process counts as quiet, when that allows
    /// more than <see cref="QuietMessagesPerSecond"/>: above idle sessions' liveness (0.4/s), below any conversation.</summary>
    public const double QuietMessagesPerSession = 0.5;

    /// <summary>Sessions opened per second under which the process counts as quiet.</summary>
    public const long QuietOpensPerSecond = 10;

    /// <summary>Allocation since the last trim below which there is nothing worth trimming.</summary>
    internal long MinChurnBytes { get; set; } = 64L * 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var after = options.Value.IdleMemoryTrimAfter;
        if (after <= TimeSpan.Zero)
        {
            return;
        }

        var tick = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(5).Ticks, Math.Max(after.Ticks / 2, TimeSpan.FromMilliseconds(100).Ticks)));
        using var timer = new PeriodicTimer(tick, time);
        long lastAllocated = 0; // start-up's own garbage counts: a relay that went quiet after starting trims too
        long lastMessages = metrics.MessagesIn + metrics.MessagesOut;
        long lastOpens = metrics.Opens;
        long churn = 0;
        var quiet = TimeSpan.Zero;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                long allocated = GC.GetTotalAllocatedBytes();
                long delta = allocated - lastAllocated;
                lastAllocated = allocated;
                churn += delta;
                long messages = metrics.MessagesIn + metrics.MessagesOut;
                long opens = metrics.Opens;
                double quietMessages = Math.Max(QuietMessagesPerSecond, metrics.Sessions * QuietMessagesPerSession) * tick.TotalSeconds;
                bool quietTick = delta < QuietBytesPerSecond * tick.TotalSeconds
                    && messages - lastMessages < quietMessages
                    && opens - lastOpens < QuietOpensPerSecond * tick.TotalSeconds;
                lastMessages = messages;
                lastOpens = opens;
                quiet = quietTick ? quiet + tick : TimeSpan.Zero;
                if (quiet >= after && churn >= MinChurnBytes)
                {
                    Trim();
                    churn = 0;
                    lastAllocated = GC.GetTotalAllocatedBytes();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Trim()
    {
        long before = Environment.WorkingSet;
        var pause = GC.GetTotalPauseDuration();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        long trimmed = before - Environment.WorkingSet;
        var paused = GC.GetTotalPauseDuration() - pause;
        metrics.MemoryTrimmed(trimmed);
        Log.Trimmed(logger, before / (1024 * 1024), Environment.WorkingSet / (1024 * 1024), paused.TotalMilliseconds);
    }
}
