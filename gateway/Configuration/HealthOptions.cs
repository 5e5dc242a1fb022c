namespace Relay.Gateway.Configuration;

/// <summary>Health model and drain settings ("Gateway:Health").</summary>
public sealed class HealthOptions
{
    /// <summary>How often signals are read and folded. Defaults to 1 s.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Consecutive worse readings before the state worsens (hysteresis). Defaults to 3.</summary>
    public int EnterAfter { get; set; } = 3;

    /// <summary>Consecutive better readings before the state improves (hysteresis). Defaults to 5.</summary>
    public int ExitAfter { get; set; } = 5;

    /// <summary>Link RTT above which the backhaul is degraded. Defaults to 250 ms.</summary>
    public double RttDegradedMs { get; set; } = 250;

    /// <summary>Link RTT above which the backhaul is sick. Defaults to 2,000 ms.</summary>
    public double RttSickMs { get; set; } = 2000;

    /// <summary>Stream re-attaches per second above which the backhaul is degraded (links flapping). Defaults to 50.</summary>
    public double ReattachesPerSecondDegraded { get; set; } = 50;

    /// <summary>Thread-pool queue length above which the process is degraded. Defaults to 1,000.</summary>
    public long ThreadPoolQueueDegraded { get; set; } = 1000;

    /// <summary>Thread-pool queue length above which the process is sick. Defaults to 20,000.</summary>
    public long ThreadPoolQueueSick { get; set; } = 20_000;

    /// <summary>Process CPU (0..1 of all cores) above which the process is degraded. Defaults to 0.9.</summary>
    public double CpuDegraded { get; set; } = 0.9;

    /// <summary>Working set in MiB above which the process is sick. Defaults to 4,096.</summary>
    public long MemorySickMiB { get; set; } = 4096;

    /// <summary>Bytes queued for all clients above which sessions are degraded. Defaults to 256 MiB.</summary>
    public long SendQueueDegradedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Sessions at which the agent weight reaches its floor. Defaults to 10,000.</summary>
    public int Capacity { get; set; } = 10_000;

    /// <summary>A relay sick this long drains itself. Zero disables. Defaults to 60 s.</summary>
    public TimeSpan SelfDrainAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a health report goes to the core over the backhaul. Defaults to 2 s.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>HAProxy agent-check TCP port. Defaults to 8081; 0 picks a free port; -1 disables.</summary>
    public int AgentPort { get; set; } = 8081;

    /// <summary>Sessions closed (4001) per drain batch. Defaults to 200.</summary>
    public int DrainBatchSize { get; set; } = 200;

    /// <summary>Pause between drain batches; each pause gets ±50% jitter. Defaults to 250 ms.</summary>
    public TimeSpan DrainBatchInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest wait for a drain batch's sessions to finish closing before the next batch. Defaults to 5 s.</summary>
    public TimeSpan DrainBatchTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>All sessions are closed by this time after a drain starts. Defaults to 30 s.</summary>
    public TimeSpan DrainDeadline { get; set; } = TimeSpan.FromSeconds(30);
}
