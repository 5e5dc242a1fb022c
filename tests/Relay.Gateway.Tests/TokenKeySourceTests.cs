using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.CoreSim;
using Relay.Gateway.Configuration;
using Relay.Gateway.Health;
using Relay.Gateway.Tokens;

namespace Relay.Gateway.Tests;

/// <summary>The gateway's JWKS source on a FakeTimeProvider: periodic refresh picks up a rotated key; a lost JWKS is a readiness reason.</summary>
[NonParallelizable]
public sealed class TokenKeySourceTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Jwks_RefreshedEveryInterval_ThenSickWhenTheCoreIsGone(CancellationToken token)
    {
        var core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
            o.SharedKey = GatewayFixture.SharedKey;
        }, token);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new GatewayOptions { JwksUrl = new Uri(core.HttpUri, "/.well-known/jwks.json").ToString(), JwksRefreshInterval = TimeSpan.FromSeconds(60) };
        using var source = new TokenKeySource(Options.Create(options), time, NullLogger<TokenKeySource>.Instance);
        Assert.That(source.Read().Level, Is.EqualTo(HealthLevel.Sick), "no keys before the first fetch");
        await source.StartAsync(token);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await UntilAsync(() => source.Verifier.KeyIds.Contains(core.Tokens.KeyId), token);
        Assert.That(source.Read().Level, Is.EqualTo(HealthLevel.Healthy));

        string rotated = core.Tokens.Rotate();
        time.Advance(TimeSpan.FromSeconds(59));
        await Task.Delay(200, token);
        Assert.That(source.Verifier.KeyIds, Does.Not.Contain(rotated), "not refreshed before the interval");
        time.Advance(TimeSpan.FromSeconds(1));
        await UntilAsync(() => source.Verifier.KeyIds.Contains(rotated), token);

        await core.DisposeAsync();
        time.Advance(TimeSpan.FromSeconds(60));
        await UntilAsync(() => source.Read().Level == HealthLevel.Sick, token);
        Assert.That(source.Read().Reason, Does.StartWith("token keys: cannot get the core's JWKS"));
        await source.StopAsync(token);
    }

    private static async Task UntilAsync(Func<bool> condition, CancellationToken token)
    {
        for (int i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50, token);
        }

        Assert.That(condition(), Is.True);
    }
}
