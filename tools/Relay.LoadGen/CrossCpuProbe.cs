using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Relay.LoadGen;

/// <summary>
/// The machine under the run (--cross-cpu-probe, issue 21): how long a cache line takes to go from one CPU to another
/// and back, measured four times a second while the load runs. Two threads, each pinned to one of the first two CPUs
/// the process may use, bounce one value 5,000 times; a sample is the 10th percentile of those round trips (the
/// transfer itself, not a moment one of the threads was not running), and a second's figure is the median of its
/// samples. On a VM this is where the hypervisor has put the two vCPUs right now: on the 2-vCPU EPYC VMs of issue 21 it
/// flips between about 115 ns (the vCPUs share a cache) and about 210 ns (they do not), by itself, idle or loaded, and
/// the closed loop runs a quarter slower in the far placement (bench/README.md, "Rounds: the two speeds are the two
/// placements of the vCPUs"). Costs about 1 % of each of the two CPUs. Linux only (sched_setaffinity).
/// </summary>
internal sealed partial class CrossCpuProbe : IDisposable
{
    private const int Bounces = 5_000;
    private static readonly TimeSpan s_every = TimeSpan.FromMilliseconds(250);
    private static readonly long s_bounceTimeout = Stopwatch.Frequency / 1000; // 1 ms: the other thread was descheduled
    private static readonly long s_readyTimeout = Stopwatch.Frequency / 20;    // 50 ms for the echo thread to start spinning

    private readonly int _cpuA;
    private readonly int _cpuB;
    private readonly Thread _main;
    private readonly Thread _echo;
    private readonly SemaphoreSlim _wakeEcho = new(0);
    private readonly List<double> _samples = [];
    private readonly double[] _roundTrips = new double[Bounces];
    private volatile bool _stop;
    private volatile bool _echoing; // the echo thread answers while this is set
    private long _ball;             // odd: sent by the main thread, waiting for the echo (which makes it even)

    private CrossCpuProbe(int cpuA, int cpuB)
    {
        _cpuA = cpuA;
        _cpuB = cpuB;
        _main = new Thread(MainLoop) { IsBackground = true, Name = "cross-cpu probe" };
        _echo = new Thread(EchoLoop) { IsBackground = true, Name = "cross-cpu echo" };
    }

    /// <summary>Starts the probe, or returns null with why not (not Linux, fewer than two CPUs allowed).</summary>
    public static CrossCpuProbe? Start(out string? whyNot)
    {
        whyNot = null;
        if (!OperatingSystem.IsLinux())
        {
            whyNot = "--cross-cpu-probe: Linux only (it pins threads with sched_setaffinity); not measured";
            return null;
        }

        Span<ulong> mask = stackalloc ulong[16]; // up to 1,024 CPUs (the kernel refuses a set smaller than its own)
        if (SchedGetAffinity(0, mask.Length * sizeof(ulong), ref MemoryMarshal.GetReference(mask)) != 0)
        {
            whyNot = $"--cross-cpu-probe: sched_getaffinity failed (errno {Marshal.GetLastPInvokeError()}); not measured";
            return null;
        }

        var cpus = new List<int>(2);
        for (int c = 0; c < mask.Length * 64 && cpus.Count < 2; c++)
        {
            if ((mask[c / 64] & (1UL << (c % 64))) != 0)
            {
                cpus.Add(c);
            }
        }

        if (cpus.Count < 2)
        {
            whyNot = "--cross-cpu-probe: the process may run on one CPU only; not measured";
            return null;
        }

        var probe = new CrossCpuProbe(cpus[0], cpus[1]);
        probe._echo.Start();
        probe._main.Start();
        return probe;
    }

    /// <summary>The median round trip in ns over the samples taken since the last call; 0 when none was taken.</summary>
    public double TakeSecond()
    {
        lock (_samples)
        {
            if (_samples.Count == 0)
            {
                return 0;
            }

            _samples.Sort();
            double median = _samples[_samples.Count / 2];
            _samples.Clear();
            return Math.Round(median, 1);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _wakeEcho.Release();
        bool mainEnded = _main.Join(TimeSpan.FromSeconds(2));
        if (_echo.Join(TimeSpan.FromSeconds(2)) && mainEnded)
        {
            _wakeEcho.Dispose(); // only once neither thread can touch it again
        }
    }

    private void MainLoop()
    {
        Pin(_cpuA);
        while (!_stop)
        {
            Thread.Sleep(s_every);
            if (_stop)
            {
                break;
            }

            double? sample = Sample();
            if (sample is { } ns)
            {
                lock (_samples)
                {
                    _samples.Add(ns);
                }
            }
        }
    }

    /// <summary>One sample: wakes the echo thread, bounces the value, returns the 10th percentile round trip in ns
    /// (null when the echo thread did not get to run within 50 ms).</summary>
    private double? Sample()
    {
        long ball = Volatile.Read(ref _ball) | 1;
        Volatile.Write(ref _ball, ball); // odd: the echo thread answers it as soon as it spins
        _echoing = true;
        _wakeEcho.Release();
        try
        {
            long deadline = Stopwatch.GetTimestamp() + s_readyTimeout;
            while (Volatile.Read(ref _ball) == ball)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    return null;
                }
            }

            int n = 0;
            for (int i = 0; i < Bounces; i++)
            {
                long sent = Volatile.Read(ref _ball) + 1;
                long t0 = Stopwatch.GetTimestamp();
                Volatile.Write(ref _ball, sent);
                long limit = t0 + s_bounceTimeout;
                long t1 = t0;
                while (Volatile.Read(ref _ball) == sent && (t1 = Stopwatch.GetTimestamp()) <= limit)
                {
                }

                if (t1 > limit)
                {
                    break; // the echo thread lost its CPU: the sample ends with what it has
                }

                _roundTrips[n++] = (Stopwatch.GetTimestamp() - t0) * 1e9 / Stopwatch.Frequency;
            }

            if (n < Bounces / 10)
            {
                return null;
            }

            Array.Sort(_roundTrips, 0, n);
            return _roundTrips[n / 10];
        }
        finally
        {
            _echoing = false;
        }
    }

    private void EchoLoop()
    {
        Pin(_cpuB);
        while (true)
        {
            _wakeEcho.Wait();
            if (_stop)
            {
                return;
            }

            while (_echoing)
            {
                long v = Volatile.Read(ref _ball);
                if ((v & 1) != 0)
                {
                    Volatile.Write(ref _ball, v + 1);
                }
            }
        }
    }

    private static void Pin(int cpu)
    {
        Span<ulong> mask = stackalloc ulong[16];
        mask[cpu / 64] = 1UL << (cpu % 64);
        _ = SchedSetAffinity(0, mask.Length * sizeof(ulong), ref MemoryMarshal.GetReference(mask)); // 0: the calling thread; unpinned, the figure is only noisier
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint cpusetsize, ref ulong mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nint cpusetsize, ref ulong mask);
}
