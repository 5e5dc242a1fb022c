using System.Buffers;

namespace Relay.Tunnel.Streams;

/// <summary>
/// Buffers that wait per stream: the sender's retained copies of DATA chunks (kept until the peer acknowledges them)
/// and received messages queued until the application reads them. Thousands of streams each keep a few small ones
/// outstanding, far more than <see cref="ArrayPool{T}.Shared"/> holds per size (it keeps a few dozen per core), so
/// with it every small chunk was a fresh array and garbage once acknowledged or read (core-sim's backhaul side: 15 %
/// of its allocation at full load). Returns take any array from either pool.
/// Small chunks (≤ 1 KiB, chat messages) come from a pool sized for that; larger ones from the shared pool.
/// At most 8,192 arrays per size class are kept: ≤ 16 MiB in all.
/// </summary>
internal static class RetainedBuffers
{
    private const int SmallMax = 1024;
    private static readonly ArrayPool<byte> Small = ArrayPool<byte>.Create(SmallMax, 8192);

    public static byte[] Rent(int length) => length <= SmallMax ? Small.Rent(length) : ArrayPool<byte>.Shared.Rent(length);

    public static void Return(byte[] buffer)
    {
        if (buffer.Length <= SmallMax)
        {
            Small.Return(buffer);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
