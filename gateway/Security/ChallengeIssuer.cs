using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Relay.Contracts.Challenges;

namespace Relay.Gateway.Security;

/// <summary>
/// Issues and verifies Under Attack mode's proof-of-work challenges without keeping state per challenge: a challenge
/// is <c>expiry ‖ difficulty ‖ 16 random bytes ‖ HMAC-SHA256(secret, address ‖ those)[..16]</c> in base64url, the
/// secret random per process. Verifying is one HMAC and one SHA-256; solutions already used are remembered until
/// they expire (at most <see cref="UnderAttackOptions.ReplayCacheSize"/>), so one solution admits one session.
/// </summary>
internal sealed class ChallengeIssuer
{
    private const int ExpiryBytes = 8, RandomBytes = 16, MacBytes = 16;
    private const int SignedBytes = ExpiryBytes + 1 + RandomBytes;
    private const int ChallengeBytes = SignedBytes + MacBytes;
    private static readonly int s_challengeChars = Base64Url.GetEncodedLength(ChallengeBytes);

    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);
    private readonly UnderAttackOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, long> _used = new(StringComparer.Ordinal);

    public ChallengeIssuer(IOptions<UnderAttackOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
    }

    /// <summary>A new challenge for <paramref name="address"/>.</summary>
    public Challenge Issue(IPAddress address)
    {
        var expires = _time.GetUtcNow() + _options.ChallengeLifetime;
        Span<byte> challenge = stackalloc byte[ChallengeBytes];
        BinaryPrimitives.WriteInt64BigEndian(challenge, expires.ToUnixTimeSeconds());
        challenge[ExpiryBytes] = (byte)_options.Difficulty;
        RandomNumberGenerator.Fill(challenge.Slice(ExpiryBytes + 1, RandomBytes));
        Mac(address, challenge[..SignedBytes], challenge[SignedBytes..]);
        return new Challenge(Base64Url.EncodeToString(challenge), _options.Difficulty, DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(challenge)));
    }

    /// <summary>Checks <c>&lt;challenge&gt;.&lt;nonce&gt;</c> from <paramref name="address"/>; never throws.</summary>
    public ChallengeResult Verify(string pow, IPAddress address)
    {
        int dot = pow.LastIndexOf('.');
        if (dot != s_challengeChars || pow.Length - dot - 1 is 0 or > ProofOfWork.MaxNonceLength)
        {
            return ChallengeResult.Invalid;
        }

        string value = pow[..dot];
        string nonce = pow[(dot + 1)..];
        Span<byte> challenge = stackalloc byte[ChallengeBytes + 2];
        if (Base64Url.DecodeFromChars(value, challenge, out _, out int written) != System.Buffers.OperationStatus.Done || written != ChallengeBytes || !nonce.All(char.IsAsciiDigit))
        {
            return ChallengeResult.Invalid;
        }

        Span<byte> mac = stackalloc byte[MacBytes];
        Mac(address, challenge[..SignedBytes], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, challenge.Slice(SignedBytes, MacBytes)))
        {
            return ChallengeResult.Invalid;
        }

        long expires = BinaryPrimitives.ReadInt64BigEndian(challenge);
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (now > expires)
        {
            return ChallengeResult.Expired;
        }

        if (!ProofOfWork.Meets(value, nonce, challenge[ExpiryBytes]))
        {
            return ChallengeResult.Unsolved;
        }

        return Remember(value, expires, now) ? ChallengeResult.Valid : ChallengeResult.Replayed;
    }

    // A solved challenge is remembered until it expires. When the cache is full of live entries a solution is
    // admitted without being remembered: the work was done, and legitimate clients must still get in.
    private bool Remember(string challenge, long expires, long now)
    {
        if (_options.ReplayCacheSize == 0)
        {
            return true;
        }

        if (_used.Count >= _options.ReplayCacheSize)
        {
            foreach (var (key, expiry) in _used)
            {
                if (expiry < now)
                {
                    _used.TryRemove(key, out _);
                }
            }

            if (_used.Count >= _options.ReplayCacheSize)
            {
                return !_used.ContainsKey(challenge);
            }
        }

        return _used.TryAdd(challenge, expires);
    }

    private void Mac(IPAddress address, ReadOnlySpan<byte> signed, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[16 + SignedBytes];
        address.MapToIPv6().TryWriteBytes(input, out _); // 127.0.0.1 and ::ffff:127.0.0.1 are one client
        signed.CopyTo(input[16..]);
        Span<byte> full = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_secret, input, full);
        full[..MacBytes].CopyTo(destination);
    }
}
