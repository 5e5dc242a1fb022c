using System.IO.Pipelines;
using System.Net;
using Relay.Tunnel.Tests.TestTransport;

namespace Relay.Tunnel.Tests.Links;

/// <summary>
/// The pool's stop while a slot is reconnecting. A CI run hung for good in <c>LinkPool.DisposeAsync</c>: a link whose
/// handshake finished just as the pool stopped was put in its slot after the stop had closed every link, so nobody
/// closed it and its slot waited for it forever (a gateway's or a test's stop never returned).
/// </summary>
public class PoolDisposeTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Dispose_WhileALinksHandshakeFinishes_ClosesThatLinkToo_AndReturns(CancellationToken token)
    {
        var listener = new LinkListener(new LinkListenerOptions { NodeId = "core-test", Link = new LinkOptions { SharedKey = Backhaul.Key } });
        var held = new HeldInput();
        int connections = 0;
        var pool = new LinkPool(new LinkPoolOptions
        {
            RelayId = "relay-test",
            Region = "test",
            Endpoints = ["core:7000"],
            LinksPerEndpoint = 1,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(10),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(50),
            Link = new LinkOptions { SharedKey = Backhaul.Key },
            Connect = (endpoint, connectToken) =>
            {
                var (relay, core) = DuplexPipe.CreatePair();
                var accepting = listener.AcceptLinkAsync(core, $"memory:{endpoint}", CancellationToken.None);
                // The second connection's last handshake frame (READY) waits until the test lets it through.
                return Task.FromResult<IDuplexPipe>(Interlocked.Increment(ref connections) == 2 ? held.Wrap(relay) : relay);
            },
        });
        try
        {
            pool.Start();
            await pool.WaitForLinksAsync(1, token);
            await Eventually.HoldsAsync(() => listener.LinksOf("relay-test").Count == 1, token); // the core lists it a moment later
            Assert.That(listener.DropLinks("relay-test"), Is.EqualTo(1)); // the slot dials again

            await held.ReadyArrived.Task.WaitAsync(token); // its handshake is one frame from done
            var disposing = pool.DisposeAsync().AsTask();
            held.Release(); // the handshake completes as the pool stops
            Assert.That(await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(10), token)), Is.SameAs(disposing), "the pool's stop returned");
            await disposing;
        }
        finally
        {
            held.Release();
            await listener.DisposeAsync();
        }
    }

    /// <summary>
    /// The relay's side of a connection whose input passes the first read through and holds the rest until
    /// <see cref="Release"/>, whatever the reader's token says (the handshake's token is the pool's stop).
    /// </summary>
    private sealed class HeldInput
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReadyArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _released.TrySetResult();

        public IDuplexPipe Wrap(IDuplexPipe relay) => new DuplexPipe(new Reader(relay.Input, this), relay.Output);

        private sealed class Reader(PipeReader inner, HeldInput held) : PipeReader
        {
            private int _reads;

            public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
            {
                if (Interlocked.Increment(ref _reads) == 1)
                {
                    return await inner.ReadAsync(cancellationToken); // CHALLENGE
                }

                var result = await inner.ReadAsync(CancellationToken.None); // READY: here, held back
                held.ReadyArrived.TrySetResult();
                await held._released.Task;
                return result;
            }

            public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

            public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

            public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

            public override void CancelPendingRead() => inner.CancelPendingRead();

            public override void Complete(Exception? exception = null) => inner.Complete(exception);
        }
    }
}
