namespace Relay.CoreSim.Tests;

/// <summary>A fresh session's first messages go right behind the hello, saving a round trip at session start.</summary>
public class PipelinedStartTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task MessagesSentBeforeConnect_GoBehindTheHello_AndEachEchoesOnce(CancellationToken ct)
    {
        await using var host = await CoreSimFixture.StartAsync();
        await using var client = CoreSimFixture.Client(host, "early");
        for (int i = 0; i < 3; i++)
        {
            await client.SendAsync($"early {i}", cancellationToken: ct);
        }

        await client.ConnectAsync(ct);
        await client.SendAsync("after the welcome", cancellationToken: ct);

        var echoes = await CoreSimFixture.ReadAsync(client, 4, ct);
        Assert.That(echoes.Select(m => m.Body), Is.EqualTo(new[] { "early 0", "early 1", "early 2", "after the welcome" }));

        // Nothing more arrives: the application sees each message exactly once.
        using var shortWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        shortWait.CancelAfter(500);
        Assert.CatchAsync<OperationCanceledException>(() => CoreSimFixture.ReadAsync(client, 1, shortWait.Token));
    }
}
