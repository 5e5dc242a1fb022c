using System.Globalization;

namespace Relay.AttackBench;

/// <summary>The bench's settings (command line). Bounded in count and time; everything on loopback.</summary>
internal sealed class AttackOptions
{
    /// <summary>Legitimate sessions. Defaults to 1,000.</summary>
    public int Sessions { get; set; } = 1000;

    /// <summary>Messages per second per legitimate session. Defaults to 2.</summary>
    public double Rate { get; set; } = 2;

    /// <summary>Sending seconds per phase (and the flood's duration). Defaults to 20.</summary>
    public double Seconds { get; set; } = 20;

    /// <summary>Seconds at the start of sending not measured for latency. Defaults to 2.</summary>
    public double Warmup { get; set; } = 2;

    /// <summary>Flood connections to the gateway's HTTP port (idle plus half-open). Defaults to 15,000.</summary>
    public int GatewayConnections { get; set; } = 15_000;

    /// <summary>Share of <see cref="GatewayConnections"/> that are half-open upgrades. Defaults to 0.5.</summary>
    public double HalfOpenShare { get; set; } = 0.5;

    /// <summary>Flood connections to core-sim's backhaul port that never finish the handshake. Defaults to 1,000.</summary>
    public int BackhaulConnections { get; set; } = 1000;

    /// <summary>Loopback source addresses of the flood (127.0.x.y). Defaults to 200.</summary>
    public int Sources { get; set; } = 200;

    /// <summary>Flood connects in flight at once (per flood process). Defaults to 256.</summary>
    public int FloodConnectConcurrency { get; set; } = 256;

    /// <summary>Dotted JSON paths in the gateway's /status that say Under Attack mode is on; the first that exists is
    /// read. Defaults to underAttack, attack.underAttack, attack.mode, underAttack.on.</summary>
    public List<string> AttackPaths { get; set; } = [];

    public int CoreHttpPort { get; set; } = 26080;

    public int CoreBackhaulPort { get; set; } = 26000;

    public int GatewayPort { get; set; } = 26180;

    /// <summary>Output folder. Defaults to artifacts/bench-attack/yyyyMMdd-HHmmss under the checkout.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Flood processes at idle priority (SCHED_IDLE): they stand in for the attacker's own machines, so their
    /// CPU does not come out of the relay's. <c>--flood-priority normal</c> runs them as ordinary processes.</summary>
    public bool FloodIdlePriority { get; set; } = true;

    /// <summary>Environment variables for both gateways (--gateway-env NAME=VALUE), e.g. DOTNET_gcServer=1.</summary>
    public List<string> GatewayEnvironment { get; } = [];

    /// <summary>Extra gateway settings (--gateway-arg --Gateway:X=Y), e.g. to try a fix's options.</summary>
    public List<string> GatewayArgs { get; set; } = [];

    public IReadOnlyList<string> EffectiveAttackPaths => AttackPaths.Count > 0 ? AttackPaths : ["health.underAttack.on", "underAttack.on"];

    public static AttackOptions Parse(string[] args)
    {
        var o = new AttackOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]}: needs a value.");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            double Double() => double.Parse(Next(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--sessions": o.Sessions = Int(); break;
                case "--rate": o.Rate = Double(); break;
                case "--seconds": o.Seconds = Double(); break;
                case "--warmup": o.Warmup = Double(); break;
                case "--gateway-connections": o.GatewayConnections = Int(); break;
                case "--half-open-share": o.HalfOpenShare = Double(); break;
                case "--backhaul-connections": o.BackhaulConnections = Int(); break;
                case "--sources": o.Sources = Int(); break;
                case "--flood-connect-concurrency": o.FloodConnectConcurrency = Int(); break;
                case "--attack-path": o.AttackPaths.Add(Next()); break;
                case "--core-http-port": o.CoreHttpPort = Int(); break;
                case "--core-backhaul-port": o.CoreBackhaulPort = Int(); break;
                case "--gateway-port": o.GatewayPort = Int(); break;
                case "--flood-priority": o.FloodIdlePriority = Next() switch { "idle" => true, "normal" => false, var v => throw new ArgumentException($"--flood-priority idle|normal, not {v}") }; break;
                case "--gateway-env": o.GatewayEnvironment.Add(Next() is var e && e.Contains('=', StringComparison.Ordinal) ? e : throw new ArgumentException("--gateway-env NAME=VALUE")); break;
                case "--gateway-arg": o.GatewayArgs.Add(Next()); break;
                case "--out": o.OutputDirectory = Next(); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        if (o.Sessions is < 1 or > 20_000 || o.Rate is <= 0 or > 100 || o.Seconds is <= 0 or > 300 || o.Warmup < 0 || o.Warmup >= o.Seconds)
        {
            throw new ArgumentException("--sessions 1-20000, --rate 0-100, --seconds 0-300, --warmup 0 to less than --seconds");
        }

        if (o.GatewayConnections is < 0 or > 100_000 || o.BackhaulConnections is < 0 or > 20_000 || o.HalfOpenShare is < 0 or > 1
            || o.Sources is < 1 or > 250 * 254 || o.FloodConnectConcurrency < 1)
        {
            throw new ArgumentException("--gateway-connections 0-100000, --backhaul-connections 0-20000, --half-open-share 0-1, --sources 1-63500");
        }

        return o;
    }

    public const string Usage =
        "usage: Relay.AttackBench [--sessions 1000] [--rate 2] [--seconds 20] [--warmup 2] [--gateway-connections 15000]\n" +
        "       [--half-open-share 0.5] [--backhaul-connections 1000] [--sources 200] [--flood-connect-concurrency 256]\n" +
        "       [--flood-priority idle|normal]\n" +
        "       [--attack-path underAttack]... [--gateway-arg --Gateway:X=Y]... [--gateway-env NAME=VALUE]... [--core-http-port 26080] [--core-backhaul-port 26000]\n" +
        "       [--gateway-port 26180] [--out DIR]";
}
