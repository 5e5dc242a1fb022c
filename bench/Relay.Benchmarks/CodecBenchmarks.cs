using System.Buffers;
using BenchmarkDotNet.Attributes;
using Relay.Tunnel.Protocol;

namespace Relay.Benchmarks;

/// <summary>Encode and decode of one 64-byte data frame: ns per frame and bytes allocated (target 0 B).</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly byte[] _payload = new byte[64];
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private ReadOnlySequence<byte> _encoded;

    [GlobalSetup]
    public void Setup()
    {
        var w = new ArrayBufferWriter<byte>();
        FrameWriter.WriteData(w, 12345, 678, DataFlags.Text | DataFlags.EndOfMessage, _payload);
        _encoded = new ReadOnlySequence<byte>(w.WrittenMemory.ToArray());
    }

    [Benchmark]
    public int EncodeData64()
    {
        _output.ResetWrittenCount();
        FrameWriter.WriteData(_output, 12345, 678, DataFlags.Text | DataFlags.EndOfMessage, _payload);
        return _output.WrittenCount;
    }

    [Benchmark]
    public long DecodeData64()
    {
        var buffer = _encoded;
        FrameReader.TryReadFrame(ref buffer, 1 << 20, out var frame, out _);
        return frame.Payload.Length;
    }
}
