using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Tunnel.Links;

/// <summary>
/// The link hello (protocol v2): the connecting side proves its key first, and the core proves its own only after
/// verifying the relay's, so a peer that does not know a key learns nothing it could test guesses against offline:
/// dialer HELLO(relayId, nonceD) → acceptor CHALLENGE(nodeId, nonceA) → dialer PROOF(HMAC(key,
/// "relay-link-v2 dialer"|nonceA|nonceD|relayId|nodeId)) → the acceptor verifies it with the key its keyring holds for
/// relayId, then READY(HMAC(key, "relay-link-v2 acceptor"|nonceD|nonceA|relayId|nodeId)), which the dialer verifies.
/// A wrong key ends the link before any stream opens; the relay id of every later frame is the one the key proved.
/// </summary>
internal static class LinkHandshake
{
    private const int NonceSize = 32;
    private const string DialerLabel = "relay-link-v2 dialer";
    private const string AcceptorLabel = "relay-link-v2 acceptor";

    /// <summary>Result of a handshake: the peer's identity and window, or the failure.</summary>
    public readonly record struct Result(bool Ok, LinkCloseReason Failure, string Error, string PeerId, string Region, int PeerWindow);

    public static async Task<Result> DialAsync(IDuplexPipe pipe, LinkOptions options, string relayId, string region, CancellationToken cancellationToken)
    {
        byte[] nonce = RandomNumberGenerator.GetBytes(NonceSize);
        FrameWriter.WriteHello(pipe.Output, new HelloInfo(LinkOptions.ProtocolVersion, relayId, region, nonce, options.StreamWindow));
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        var (frame, error) = await ReadOneAsync(pipe.Input, options, cancellationToken).ConfigureAwait(false);
        if (frame.Kind == FrameKind.GoAway)
        {
            return Fail(LinkCloseReason.AuthenticationFailed, $"refused by the core: {frame.Reason}");
        }

        if (error is not null || frame.Kind != FrameKind.Challenge || frame.Body is not HelloInfo challenge || challenge.Nonce.Length != NonceSize)
        {
            return Fail(LinkCloseReason.ProtocolError, error ?? $"expected CHALLENGE, got {frame.Kind}");
        }

        FrameWriter.WriteProof(pipe.Output, Mac(options.SharedKey, DialerLabel, challenge.Nonce, nonce, relayId, challenge.PeerId));
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        (frame, error) = await ReadOneAsync(pipe.Input, options, cancellationToken).ConfigureAwait(false);
        if (frame.Kind == FrameKind.GoAway)
        {
            return Fail(LinkCloseReason.AuthenticationFailed, $"refused by the core: {frame.Reason}");
        }

        if (error is not null || frame.Kind != FrameKind.Ready || frame.Body is not byte[] theirs)
        {
            return Fail(LinkCloseReason.ProtocolError, error ?? $"expected READY, got {frame.Kind}");
        }

        byte[] expected = Mac(options.SharedKey, AcceptorLabel, nonce, challenge.Nonce, relayId, challenge.PeerId);
        if (!CryptographicOperations.FixedTimeEquals(expected, theirs))
        {
            return Fail(LinkCloseReason.AuthenticationFailed, "the core did not prove the key");
        }

        return new Result(true, LinkCloseReason.None, string.Empty, challenge.PeerId, string.Empty, ClampWindow(challenge.Window, options.StreamWindow));
    }

    /// <summary>The acceptor's side with one key for every relay (<see cref="LinkOptions.SharedKey"/>).</summary>
    public static Task<Result> AcceptAsync(IDuplexPipe pipe, LinkOptions options, string nodeId, CancellationToken cancellationToken) =>
        AcceptAsync(pipe, options, nodeId, _ => options.SharedKey, cancellationToken);

    /// <summary>The acceptor's side: <paramref name="keyFor"/> gives the key of the relay id the HELLO names (null: none).</summary>
    public static async Task<Result> AcceptAsync(IDuplexPipe pipe, LinkOptions options, string nodeId, Func<string, byte[]?> keyFor, CancellationToken cancellationToken)
    {
        var (frame, error) = await ReadOneAsync(pipe.Input, options, cancellationToken).ConfigureAwait(false);
        if (error is not null || frame.Kind != FrameKind.Hello || frame.Body is not HelloInfo hello || hello.Nonce.Length != NonceSize)
        {
            return Fail(LinkCloseReason.ProtocolError, error ?? $"expected HELLO, got {frame.Kind}");
        }

        if (hello.Version != LinkOptions.ProtocolVersion)
        {
            await RefuseAsync(pipe, $"protocol version {hello.Version} is not supported (this core speaks {LinkOptions.ProtocolVersion})", cancellationToken).ConfigureAwait(false);
            return Fail(LinkCloseReason.ProtocolError, $"unsupported protocol version {hello.Version}");
        }

        // No proof here: the core proves its key only to a relay that proved its own.
        byte[] nonce = RandomNumberGenerator.GetBytes(NonceSize);
        FrameWriter.WriteChallenge(pipe.Output, new HelloInfo(LinkOptions.ProtocolVersion, nodeId, string.Empty, nonce, options.StreamWindow));
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        (frame, error) = await ReadOneAsync(pipe.Input, options, cancellationToken).ConfigureAwait(false);
        if (error is not null || frame.Kind != FrameKind.Proof || frame.Body is not byte[] theirs)
        {
            return Fail(LinkCloseReason.ProtocolError, error ?? $"expected PROOF, got {frame.Kind}");
        }

        // A relay id the keyring does not hold is checked against a random key: refused the same way as a wrong key.
        byte[] key = keyFor(hello.PeerId) ?? RandomNumberGenerator.GetBytes(NonceSize);
        byte[] expected = Mac(key, DialerLabel, nonce, hello.Nonce, hello.PeerId, nodeId);
        if (!CryptographicOperations.FixedTimeEquals(expected, theirs))
        {
            await RefuseAsync(pipe, "authentication failed", cancellationToken).ConfigureAwait(false);
            return Fail(LinkCloseReason.AuthenticationFailed, $"relay '{Sanitize(hello.PeerId)}' did not prove its key");
        }

        FrameWriter.WriteReady(pipe.Output, Mac(key, AcceptorLabel, hello.Nonce, nonce, hello.PeerId, nodeId));
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new Result(true, LinkCloseReason.None, string.Empty, hello.PeerId, hello.Region, ClampWindow(hello.Window, options.StreamWindow));
    }

    /// <summary>
    /// The peer's window as this end uses it: what it sends unacknowledged on a stream, and so keeps for a resend, is at
    /// most the peer's window and at most its own (a security review found a relay announcing 64 MiB made the core keep
    /// 64 MiB per stream, across up to 250,000 streams, where its own window says 256 KiB).
    /// </summary>
    private static int ClampWindow(int window, int own) => Math.Clamp(Math.Min(window, own), 4096, 64 * 1024 * 1024);

    private static string Sanitize(string s) => s.Length > 64 ? s[..64] : s;

    private static Result Fail(LinkCloseReason reason, string error) => new(false, reason, error, string.Empty, string.Empty, 0);

    private static async Task RefuseAsync(IDuplexPipe pipe, string reason, CancellationToken cancellationToken)
    {
        FrameWriter.WriteGoAway(pipe.Output, reason);
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>HMAC-SHA256 over the label, both nonces (32 bytes each) and both ids, each id length-prefixed so no two inputs collide.</summary>
    private static byte[] Mac(byte[] key, string label, byte[] first, byte[] second, string relayId, string nodeId)
    {
        var data = new ArrayBufferWriter<byte>(160);
        data.Write(Encoding.UTF8.GetBytes(label));
        data.Write(first);
        data.Write(second);
        WriteId(data, relayId);
        WriteId(data, nodeId);
        return HMACSHA256.HashData(key, data.WrittenSpan);
    }

    private static void WriteId(ArrayBufferWriter<byte> data, string id)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(id);
        BinaryPrimitives.WriteInt32BigEndian(data.GetSpan(4), bytes.Length);
        data.Advance(4);
        data.Write(bytes);
    }

    private static async Task<(Frame Frame, string? Error)> ReadOneAsync(PipeReader input, LinkOptions options, CancellationToken cancellationToken)
    {
        // Handshake frames are small: cap them well below the data frame limit.
        int cap = Math.Min(options.MaxFrameSize, 4096);
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var status = FrameReader.TryReadFrame(ref buffer, cap, out var frame, out var error);
            switch (status)
            {
                case FrameStatus.Frame:
                    input.AdvanceTo(buffer.Start);
                    return (frame, null);
                case FrameStatus.Error:
                    input.AdvanceTo(result.Buffer.Start);
                    return (default, $"bad handshake frame: {error}");
                case FrameStatus.Skipped:
                    input.AdvanceTo(buffer.Start);
                    continue;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return (default, "connection closed during the handshake");
            }
        }
    }
}
