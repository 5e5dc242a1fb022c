using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Configuration;
using Relay.Gateway.Edge;

namespace Relay.Gateway.Tests.Edge;

/// <summary>
/// Issue 16 (legitimate p99 under a connection flood): while the gate is refusing, the gateway accepts at most
/// <c>Gateway:AcceptsPerSecondWhenRefusing</c> connections a second; the rest wait in the kernel's listen queue instead
/// of costing an accept and a reset each (and coming back 250 ms later). The real listener (Kestrel's socket transport
/// behind <see cref="GatedSocketTransportFactory"/>) on real sockets, with the budget's clock a FakeTimeProvider.
/// </summary>
[NonParallelizable]
public class AcceptBudgetTests
{
    [Test]
    public void Budget_SpendsItsBurst_ThenWaits_RefillsWithTime()
    {
        var time = new FakeTimeProvider();
        var budget = new AcceptBudget(100, time); // burst: 100 ms worth, 10

        for (int i = 0; i < 10; i++)
        {
            Assert.That(budget.Take(), Is.EqualTo(TimeSpan.Zero), $"accept {i} of the burst");
        }

        var wait = budget.Take();
        Assert.That(wait, Is.GreaterThanOrEqualTo(AcceptBudget.MinimumWait), "the burst is spent: wait");
        time.Advance(TimeSpan.FromMilliseconds(50));
        for (int i = 0; i < 5; i++)
        {
            Assert.That(budget.Take(), Is.EqualTo(TimeSpan.Zero), "50 ms at 100/s: five more");
        }

        Assert.That(budget.Take(), Is.GreaterThan(TimeSpan.Zero));
        time.Advance(TimeSpan.FromMinutes(1));
        int taken = 0;
        while (budget.Take() == TimeSpan.Zero && taken < 100)
        {
            taken++;
        }

        Assert.That(taken, Is.EqualTo(10), "an idle minute refills the burst, no more");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WhileRefusing_AcceptsBeyondTheBudgetWaitInTheListenQueue_SessionKeepsEchoing_NewClientGetsIn(CancellationToken token)
    {
        var time = new FakeTimeProvider();
        var gate = new ConnectionGate(new GatewayOptions { MaxConnections = 1000, MaxPreAuthConnectionsPerIp = 2, AcceptsPerSecondWhenRefusing = 10 }, fileLimit: 20_000, time);
        var factory = new GatedSocketTransportFactory(Options.Create(new SocketTransportOptions { Backlog = 512 }), gate, NullLoggerFactory.Instance, new ServiceCollection().BuildServiceProvider());
        var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0), token);
        int port = ((IPEndPoint)listener.EndPoint).Port;
        var connections = new List<ConnectionContext>();
        int accepted = 0;
        var acceptLoop = Task.Run(async () =>
        {
            // As the gateway does: each accepted connection from a flood address takes a pre-auth slot (the
            // middleware); the test's connections echo what they read.
            while (await listener.AcceptAsync(token) is { } connection)
            {
                lock (connections)
                {
                    connections.Add(connection);
                }

                if (connection.RemoteEndPoint is IPEndPoint { Address: var address } && !address.Equals(IPAddress.Loopback))
                {
                    _ = gate.TryEnterPreAuth(address, connection);
                }

                Interlocked.Increment(ref accepted);
                _ = EchoAsync(connection.Transport);
            }
        }, token);

        var flood = new List<Socket>();
        try
        {
            // A session from 127.0.0.1 before the flood: accepted at once, echoes.
            using var session = await RawClient.ConnectAsync(IPAddress.Loopback, port, token);
            Assert.That(await EchoedAsync(session, "before", token), Is.EqualTo("before"));

            // 30 connections from one address allowed 2 pre-auth connections: the third is refused (the gate is now
            // refusing), the fourth takes the budget's one token (10/s: a burst of 1), and the other 26 are not accepted.
            var address = IPAddress.Parse("127.0.7.7");
            for (int i = 0; i < 30; i++)
            {
                flood.Add(await RawClient.ConnectAsync(address, port, token));
            }

            Assert.That(await RawClient.CountClosedAsync(flood, TimeSpan.FromSeconds(1), token), Is.EqualTo(2), "two refused (reset at accept)");
            Assert.That(gate.RefusedPerIp, Is.EqualTo(2));
            Assert.That(Volatile.Read(ref accepted), Is.EqualTo(1 + 2), "the session and the two holding the address's slots; the rest wait for the budget");
            Assert.That(gate.IsRefusing, Is.True);
            Assert.That(gate.AcceptWaits, Is.GreaterThanOrEqualTo(1));

            // The session goes on meanwhile.
            Assert.That(await EchoedAsync(session, "during", token), Is.EqualTo("during"));

            // A new client connects (the kernel completes the handshake) but waits in the queue behind the flood
            // until the budget lets the accepts go on: 10 a second of the clock.
            using var newcomer = await RawClient.ConnectAsync(IPAddress.Parse("127.0.0.2"), port, token);
            await newcomer.SendAsync("hello"u8.ToArray(), SocketFlags.None, token);
            await Task.Delay(300, token);
            Assert.That(Volatile.Read(ref accepted), Is.EqualTo(3), "not accepted while the budget is spent");

            int steps = 0;
            for (; steps < 400 && Volatile.Read(ref accepted) < 4; steps++)
            {
                time.Advance(TimeSpan.FromMilliseconds(100));
                await Task.Delay(10, token);
            }

            Assert.That(Volatile.Read(ref accepted), Is.EqualTo(4), "the newcomer is accepted after the 26 flood connections queued before it");
            Assert.That(steps, Is.GreaterThanOrEqualTo(27), "one accept per 100 ms of the clock: the 26 queued flood connections, then the newcomer");
            Assert.That(gate.RefusedPerIp, Is.EqualTo(28), "every flood connection beyond the address's two was refused");
            Assert.That(await ReadAsync(newcomer, "hello".Length, token), Is.EqualTo("hello"), "the newcomer got in and is served");
            Assert.That(await EchoedAsync(session, "after", token), Is.EqualTo("after"));
        }
        finally
        {
            RawClient.DisposeAll(flood);
            await listener.UnbindAsync(CancellationToken.None);
            await acceptLoop;
            foreach (var c in connections)
            {
                await c.DisposeAsync();
            }

            await listener.DisposeAsync();
        }
    }

    private static async Task<string> EchoedAsync(Socket socket, string text, CancellationToken token)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), SocketFlags.None, token);
        return await ReadAsync(socket, text.Length, token);
    }

    private static async Task<string> ReadAsync(Socket socket, int length, CancellationToken token)
    {
        var buffer = new byte[length];
        int read = 0;
        using var window = CancellationTokenSource.CreateLinkedTokenSource(token);
        window.CancelAfter(TimeSpan.FromSeconds(10));
        while (read < length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, window.Token);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    private static async Task EchoAsync(IDuplexPipe transport)
    {
        try
        {
            while (true)
            {
                var result = await transport.Input.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    await transport.Output.WriteAsync(segment);
                }

                transport.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or InvalidOperationException)
        {
        }
    }
}
