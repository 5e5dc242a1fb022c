using BenchmarkDotNet.Running;
using Relay.Benchmarks;

// ./build.sh bench              codec (BenchmarkDotNet) then loopback throughput
// ./build.sh bench codec        codec only
// ./build.sh bench throughput   loopback throughput only (options: --streams N --links N --seconds N)
// kestrel-floor --port N         a bare Kestrel websocket server (hello → welcome, then zero-byte reads), the memory
//                                floor under the gateway for scripts/bench-gateway.sh
string verb = args.Length > 0 ? args[0] : "all";
if (verb == "kestrel-floor")
{
    await KestrelFloor.RunAsync(args.Skip(1).ToArray());
    return;
}

if (verb is "codec" or "all")
{
    BenchmarkRunner.Run<CodecBenchmarks>(args: verb == "codec" ? args.Skip(1).ToArray() : []);
}

if (verb is "throughput" or "all")
{
    await ThroughputBenchmark.RunAsync(args.Skip(verb == "throughput" ? 1 : args.Length).ToArray());
}
