using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Contracts.Challenges;

/// <summary>
/// The proof of work of the gateway's Under Attack mode, shared by the gateway (verify) and the .NET client (solve):
/// a nonce solves a challenge of difficulty d when SHA-256 of the ASCII bytes of <c>challenge ‖ nonce</c> starts
/// with d zero bits. The nonce is a decimal number; the client sends <c>pow=&lt;challenge&gt;.&lt;nonce&gt;</c> in the
/// websocket URL's query. Expected work: 2^d hashes (18 bits: about 260,000).
/// </summary>
public static class ProofOfWork
{
    /// <summary>The query parameter that carries a solution.</summary>
    public const string QueryParameter = "pow";

    /// <summary>The longest nonce accepted (decimal digits).</summary>
    public const int MaxNonceLength = 20;

    /// <summary>Leading zero bits of <paramref name="hash"/>.</summary>
    public static int LeadingZeroBits(ReadOnlySpan<byte> hash)
    {
        int bits = 0;
        foreach (byte b in hash)
        {
            if (b != 0)
            {
                return bits + BitOperations.LeadingZeroCount((uint)b) - 24;
            }

            bits += 8;
        }

        return bits;
    }

    /// <summary>Whether <paramref name="nonce"/> solves <paramref name="challenge"/> at <paramref name="difficulty"/>: one SHA-256.</summary>
    public static bool Meets(string challenge, string nonce, int difficulty)
    {
        if (nonce.Length is 0 or > MaxNonceLength || challenge.Length > 256)
        {
            return false;
        }

        Span<byte> input = stackalloc byte[challenge.Length + nonce.Length];
        if (Encoding.ASCII.GetBytes(challenge, input) != challenge.Length || Encoding.ASCII.GetBytes(nonce, input[challenge.Length..]) != nonce.Length)
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return LeadingZeroBits(hash) >= difficulty;
    }

    /// <summary>Finds the smallest decimal nonce that solves <paramref name="challenge"/> (about 2^difficulty hashes).</summary>
    public static string Solve(string challenge, int difficulty, CancellationToken cancellationToken)
    {
        byte[] input = ArrayPool<byte>.Shared.Rent(challenge.Length + MaxNonceLength);
        try
        {
            int prefix = Encoding.ASCII.GetBytes(challenge, input);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            for (ulong nonce = 0; ; nonce++)
            {
                if ((nonce & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                nonce.TryFormat(input.AsSpan(prefix), out int written, default, CultureInfo.InvariantCulture);
                SHA256.HashData(input.AsSpan(0, prefix + written), hash);
                if (LeadingZeroBits(hash) >= difficulty)
                {
                    return nonce.ToString(CultureInfo.InvariantCulture);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }
}
