using System.Net;
using System.Security.Cryptography;

namespace Relay.Gateway.Tests.EdgeHttp;

/// <summary>
/// A request body of <c>length</c> deterministic pseudo-random bytes, produced 64 KiB at a time into one reused buffer
/// (the test itself never holds the body), with its SHA-256.
/// </summary>
internal sealed class GeneratedContent(long length, int seed) : HttpContent
{
    public static string Sha256Of(long length, int seed)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Produce(length, seed, chunk => hash.AppendData(chunk.Span));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[64 * 1024];
        var random = new Random(seed);
        for (long sent = 0; sent < length;)
        {
            int n = (int)Math.Min(buffer.Length, length - sent);
            random.NextBytes(buffer.AsSpan(0, n));
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            sent += n;
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length1)
    {
        length1 = length;
        return true;
    }

    private static void Produce(long length, int seed, Action<ReadOnlyMemory<byte>> chunk)
    {
        byte[] buffer = new byte[64 * 1024];
        var random = new Random(seed);
        for (long sent = 0; sent < length;)
        {
            int n = (int)Math.Min(buffer.Length, length - sent);
            random.NextBytes(buffer.AsSpan(0, n));
            chunk(buffer.AsMemory(0, n));
            sent += n;
        }
    }
}
