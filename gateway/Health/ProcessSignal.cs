using System.Diagnostics;
using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;

namespace Relay.Gateway.Health;

/// <summary>Process: CPU, memory, thread-pool queue length, GC pauses.</summary>
internal sealed class ProcessSignal(IOptions<GatewayOptions> options, TimeProvider time) : IHealthSignal
{
    private readonly HealthOptions _health = options.Value.Health;
    private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private TimeSpan _lastPause = GC.GetTotalPauseDuration();
    private long _lastTicks = time.GetTimestamp();

    public string Name => "process";

    public HealthReading Read()
    {
        using var process = Process.GetCurrentProcess();
        long now = time.GetTimestamp();
        double elapsed = Math.Max(time.GetElapsedTime(_lastTicks, now).TotalSeconds, 0.001);
        var cpu = process.TotalProcessorTime;
        double cpuShare = (cpu - _lastCpu).TotalSeconds / elapsed / Environment.ProcessorCount;
        var pause = GC.GetTotalPauseDuration();
        double pauseMs = (pause - _lastPause).TotalMilliseconds;
        _lastCpu = cpu;
        _lastPause = pause;
        _lastTicks = now;
        long queue = ThreadPool.PendingWorkItemCount;
        long workingSetMiB = process.WorkingSet64 / (1024 * 1024);

        var values = new Dictionary<string, object?>
        {
            ["cpu"] = Math.Round(cpuShare, 3),
            ["workingSetMiB"] = workingSetMiB,
            ["gcHeapMiB"] = GC.GetTotalMemory(false) / (1024 * 1024),
            ["gcCommittedMiB"] = GC.GetGCMemoryInfo().TotalCommittedBytes / (1024 * 1024),
            ["gcAllocatedMiB"] = GC.GetTotalAllocatedBytes() / (1024 * 1024),
            ["threadPoolQueue"] = queue,
            ["threadPoolThreads"] = ThreadPool.ThreadCount,
            ["gcPauseMsPerSecond"] = Math.Round(pauseMs / elapsed, 2),
            ["gcPauseMsTotal"] = Math.Round(pause.TotalMilliseconds, 1),
            ["gcCollections"] = $"{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}",
        };
        if (queue > _health.ThreadPoolQueueSick)
        {
            return new HealthReading(HealthLevel.Sick, $"process overloaded: {queue} work items queued", values);
        }

        if (workingSetMiB > _health.MemorySickMiB)
        {
            return new HealthReading(HealthLevel.Sick, $"process memory {workingSetMiB} MiB over {_health.MemorySickMiB} MiB", values);
        }

        if (queue > _health.ThreadPoolQueueDegraded)
        {
            return new HealthReading(HealthLevel.Degraded, $"process busy: {queue} work items queued", values);
        }

        if (cpuShare > _health.CpuDegraded)
        {
            return new HealthReading(HealthLevel.Degraded, $"process CPU {cpuShare:P0}", values);
        }

        return HealthReading.Healthy(values);
    }
}
