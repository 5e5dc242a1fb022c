using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using Relay.Tunnel.Protocol;

namespace Relay.Tunnel.Links;

/// <summary>
/// The link hello with a mutual pre-shared-key challenge:
/// dialer HELLO(nonceD) → acceptor CHALLENGE(nonceA, HMAC(key, "relay-link-v1 acceptor"|nonceD|nonceA|relayId))
/// → dialer PROOF(HMAC(key, "relay-link-v1 dialer"|nonceA|nonceD|relayId)) → acceptor READY.
/// Each side proves the key without sending it; a wrong key ends the link before any stream opens.
/// </summary>
internal static class LinkHandshake
{
    private const int NonceSize = 32;

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

        if (error is not null || frame.Kind != FrameKind.Challenge || frame.Body is not HelloInfo challenge)
        {
            return Fail(LinkCloseReason.ProtocolError, error ?? $"expected CHALLENGE, got {frame.Kind}");
        }

        byte[] expected = Mac(options.SharedKey, "relay-link-v1 acceptor", nonce, challenge.Nonce, relayId);
        if (challenge.Proof is null || !CryptographicOperations.FixedTimeEquals(expected, challenge.Proof))
        {
            return Fail(LinkCloseReason.AuthenticationFailed, "the core did not prove the shared key");
        }

        FrameWriter.WriteProof(pipe.Output, Mac(options.SharedKey, "relay-link-v1 dialer", challenge.Nonce, nonce, relayId));
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        (frame, error) = await ReadOneAsync(pipe.Input, options, cancellationToken).ConfigureAwait(false);
        if (frame.Kind == FrameKind.GoAway)
        {
            return Fail(LinkCloseReason.AuthenticationFailed, $"refused by the core: {frame.Reason}");
        }

        if (error is not null || frame.Kind != FrameKind.Ready)
        {
            return Fail(LinkCloseReason.ProtocolError, error ?? $"expected READY, got {frame.Kind}");
        }

        return new Result(true, LinkCloseReason.None, string.Empty, challenge.PeerId, string.Empty, ClampWindow(challenge.Window));
    }

    public static async Task<Result> AcceptAsync(IDuplexPipe pipe, LinkOptions options, string nodeId, CancellationToken cancellationToken)
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

        byte[] nonce = RandomNumberGenerator.GetBytes(NonceSize);
        byte[] proof = Mac(options.SharedKey, "relay-link-v1 acceptor", hello.Nonce, nonce, hello.PeerId);
        FrameWriter.WriteChallenge(pipe.Output, new HelloInfo(LinkOptions.ProtocolVersion, nodeId, string.Empty, nonce, options.StreamWindow, proof));
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        (frame, error) = await ReadOneAsync(pipe.Input, options, cancellationToken).ConfigureAwait(false);
        if (error is not null || frame.Kind != FrameKind.Proof || frame.Body is not byte[] theirs)
        {
            return Fail(LinkCloseReason.ProtocolError, error ?? $"expected PROOF, got {frame.Kind}");
        }

        byte[] expected = Mac(options.SharedKey, "relay-link-v1 dialer", nonce, hello.Nonce, hello.PeerId);
        if (!CryptographicOperations.FixedTimeEquals(expected, theirs))
        {
            await RefuseAsync(pipe, "authentication failed", cancellationToken).ConfigureAwait(false);
            return Fail(LinkCloseReason.AuthenticationFailed, $"relay '{Sanitize(hello.PeerId)}' did not prove the shared key");
        }

        FrameWriter.WriteReady(pipe.Output);
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new Result(true, LinkCloseReason.None, string.Empty, hello.PeerId, hello.Region, ClampWindow(hello.Window));
    }

    private static int ClampWindow(int window) => Math.Clamp(window, 4096, 64 * 1024 * 1024);

    private static string Sanitize(string s) => s.Length > 64 ? s[..64] : s;

    private static Result Fail(LinkCloseReason reason, string error) => new(false, reason, error, string.Empty, string.Empty, 0);

    private static async Task RefuseAsync(IDuplexPipe pipe, string reason, CancellationToken cancellationToken)
    {
        FrameWriter.WriteGoAway(pipe.Output, reason);
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static byte[] Mac(byte[] key, string label, byte[] first, byte[] second, string relayId)
    {
        var data = new ArrayBufferWriter<byte>(128);
        data.Write(Encoding.UTF8.GetBytes(label));
        data.Write(first);
        data.Write(second);
        data.Write(Encoding.UTF8.GetBytes(relayId));
        return HMACSHA256.HashData(key, data.WrittenSpan);
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
