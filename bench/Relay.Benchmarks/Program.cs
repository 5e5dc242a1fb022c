using BenchmarkDotNet.Running;
using Relay.Benchmarks;

// ./build.sh bench              codec (BenchmarkDotNet) then loopback throughput
// ./build.sh bench codec        codec only
// ./build.sh bench throughput   loopback throughput only (options: --streams N --links N --seconds N)
string verb = args.Length > 0 ? args[0] : "all";
if (verb is "codec" or "all")
{
    BenchmarkRunner.Run<CodecBenchmarks>(args: verb == "codec" ? args.Skip(1).ToArray() : []);
}

if (verb is "throughput" or "all")
{
    await ThroughputBenchmark.RunAsync(args.Skip(verb == "throughput" ? 1 : args.Length).ToArray());
}
