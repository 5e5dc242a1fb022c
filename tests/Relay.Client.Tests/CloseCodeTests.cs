using System.Net.Http.Json;
using System.Threading.Channels;
using Relay.Contracts.Sessions;
using Relay.CoreSim;

namespace Relay.Client.Tests;

/// <summary>
/// What Relay.Client does with each close code, against an in-process core-sim that closes the session with that code
/// (<c>POST /v1/faults/kick</c>).
/// </summary>
[TestFixture]
public sealed class CloseCodeTests
{
    private CoreSimHost _host = null!;

    [SetUp]
    public async Task StartAsync() => _host = await CoreSimHost.StartAsync(o =>
    {
        o.BindAddress = "127.0.0.1";
        o.HttpPort = 0;
        o.BackhaulPort = 0;
    });

    [TearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    [Test]
    [CancelAfter(20_000)]
    public async Task Draining4001_OfAStableSession_ReconnectsWithoutBackoffAndResumesTheSession(CancellationToken ct)
    {
        // A backoff of 10 minutes: a reconnect seen within the test's 20 s was not backed off. Every welcomed session counts
        // as stable here (StableSession 0); a young one's drain backs off (ReconnectBackoffTests).
        await using var client = Client(backoff: TimeSpan.FromMinutes(10), out var changes, out _, stableSession: TimeSpan.Zero);
        await client.ConnectAsync(ct);
        string session = client.SessionId!;

        await KickAsync(CloseCodes.Draining, ct);

        var left = await NextAsync(changes, RelayClientState.Reconnecting, ct);
        var back = await NextAsync(changes, RelayClientState.Connected, ct);
        Assert.Multiple(() =>
        {
            Assert.That(left.CloseCode, Is.EqualTo(CloseCodes.Draining));
            Assert.That(back.Resumed, Is.True);
            Assert.That(back.SessionId, Is.EqualTo(session));
        });
        Assert.That(await EchoAsync(client, "after the drain", ct), Is.EqualTo("after the drain"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task GoingAway1001_BacksOffThenResumesTheSession(CancellationToken ct)
    {
        await using var client = Client(backoff: TimeSpan.FromMilliseconds(20), out var changes, out _);
        await client.ConnectAsync(ct);
        string session = client.SessionId!;

        await KickAsync(CloseCodes.GoingAway, ct);

        var left = await NextAsync(changes, RelayClientState.Reconnecting, ct);
        var back = await NextAsync(changes, RelayClientState.Connected, ct);
        Assert.Multiple(() =>
        {
            Assert.That(left.CloseCode, Is.EqualTo(CloseCodes.GoingAway));
            Assert.That(back.Resumed, Is.True);
            Assert.That(back.SessionId, Is.EqualTo(session));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TokenExpired4003_AsksForANewTokenAndResumes(CancellationToken ct)
    {
        await using var client = Client(backoff: TimeSpan.FromMilliseconds(20), out var changes, out var tokensIssued);
        await client.ConnectAsync(ct);
        string session = client.SessionId!;

        await KickAsync(CloseCodes.TokenExpired, ct);

        var left = await NextAsync(changes, RelayClientState.Reconnecting, ct);
        var back = await NextAsync(changes, RelayClientState.Connected, ct);
        Assert.Multiple(() =>
        {
            Assert.That(left.CloseCode, Is.EqualTo(CloseCodes.TokenExpired));
            Assert.That(tokensIssued(), Is.EqualTo(2), "one token for the first connect, a new one after 4003");
            Assert.That(back.Resumed, Is.True);
            Assert.That(back.SessionId, Is.EqualTo(session));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task SessionUnknown4004_StartsAFreshSession(CancellationToken ct)
    {
        await using var client = Client(backoff: TimeSpan.FromMilliseconds(20), out var changes, out _);
        await client.ConnectAsync(ct);
        string session = client.SessionId!;

        await KickAsync(CloseCodes.SessionUnknown, ct);

        var left = await NextAsync(changes, RelayClientState.Reconnecting, ct);
        var back = await NextAsync(changes, RelayClientState.Connected, ct);
        Assert.Multiple(() =>
        {
            Assert.That(left.CloseCode, Is.EqualTo(CloseCodes.SessionUnknown));
            Assert.That(back.Resumed, Is.False);
            Assert.That(back.SessionId, Is.Not.Null.And.Not.EqualTo(session));
        });
        Assert.That(await EchoAsync(client, "in the new session", ct), Is.EqualTo("in the new session"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Normal1000_ClosesForGood(CancellationToken ct)
    {
        await using var client = Client(backoff: TimeSpan.FromMilliseconds(20), out var changes, out _);
        await client.ConnectAsync(ct);
        Assert.That((await changes.ReadAsync(ct)).State, Is.EqualTo(RelayClientState.Connecting));
        Assert.That((await changes.ReadAsync(ct)).State, Is.EqualTo(RelayClientState.Connected));

        await KickAsync(CloseCodes.Normal, ct);

        // The very next change is Closed: no Reconnecting in between.
        var next = await changes.ReadAsync(ct);
        Assert.Multiple(() =>
        {
            Assert.That(next.State, Is.EqualTo(RelayClientState.Closed));
            Assert.That(next.CloseCode, Is.EqualTo(CloseCodes.Normal));
            Assert.That(client.State, Is.EqualTo(RelayClientState.Closed));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ClosedByItsOwner_EndsClosed_WithoutReportingAReconnect(CancellationToken ct)
    {
        // The load generator counts Reconnecting as a reconnect: a client its application closes is not reconnecting.
        var client = Client(backoff: TimeSpan.FromMinutes(10), out var changes, out _);
        await client.ConnectAsync(ct);
        await client.CloseAsync();

        var states = new List<RelayClientState>();
        await foreach (var change in changes.ReadAllAsync(ct))
        {
            states.Add(change.State);
            if (change.State == RelayClientState.Closed)
            {
                break;
            }
        }

        Assert.That(states, Does.Not.Contain(RelayClientState.Reconnecting), string.Join(", ", states));
    }

    private RelayClient Client(TimeSpan backoff, out ChannelReader<RelayStateChange> changes, out Func<int> tokensIssued, TimeSpan? stableSession = null)
    {
        int issued = 0;
        var channel = Channel.CreateUnbounded<RelayStateChange>();
        var client = new RelayClient(new RelayClientOptions
        {
            Urls = [_host.WebSocketUri],
            TokenProvider = _ =>
            {
                Interlocked.Increment(ref issued);
                return ValueTask.FromResult(_host.Tokens.Issue("visitor-1", "s1", "visitor", TimeSpan.FromHours(1)).Token);
            },
            ReconnectBaseDelay = backoff,
            ReconnectMaxDelay = backoff,
            StableSession = stableSession ?? new RelayClientOptions().StableSession,
        });
        client.StateChanged += change => channel.Writer.TryWrite(change);
        changes = channel.Reader;
        tokensIssued = () => Volatile.Read(ref issued);
        return client;
    }

    private static async Task<RelayStateChange> NextAsync(ChannelReader<RelayStateChange> changes, RelayClientState state, CancellationToken ct)
    {
        await foreach (var change in changes.ReadAllAsync(ct))
        {
            if (change.State == state)
            {
                return change;
            }
        }

        throw new AssertionException($"the client never reached {state}");
    }

    private async Task KickAsync(int code, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = _host.HttpUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _host.AdminKey);
        using var response = await http.PostAsJsonAsync("/v1/faults/kick", new { count = 1, code }, ct);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<KickResponse>(ct);
        Assert.That(body?.Closed, Is.EqualTo(1), "core-sim closed the client's connection");
    }

    private static async Task<string?> EchoAsync(RelayClient client, string text, CancellationToken ct)
    {
        await client.SendAsync(text, cancellationToken: ct);
        await foreach (var message in client.ReadAllAsync(ct))
        {
            return message.Body;
        }

        return null;
    }

    private sealed record KickResponse(int Closed);
}
