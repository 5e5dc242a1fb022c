using System.Buffers;

namespace Relay.Gateway.Tests;

/// <summary>Input as the network may hand it to a parser: split over segments.</summary>
internal static class Sequences
{
    /// <summary><paramref name="data"/> as two segments, the first <paramref name="split"/> bytes long.</summary>
    public static ReadOnlySequence<byte> TwoSegments(byte[] data, int split)
    {
        var first = new Segment(data.AsMemory(0, split));
        var second = first.Append(data.AsMemory(split));
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
