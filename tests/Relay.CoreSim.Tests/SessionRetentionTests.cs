using Relay.Testing;

namespace Relay.CoreSim.Tests;

/// <summary>CoreSim:SessionRetention: a detached session waits that long for a resume, then is gone.</summary>
[TestFixture]
public sealed class SessionRetentionTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task DetachedSession_AfterRetention_ResumeGets4004_WhileLongRetentionStillResumes(CancellationToken ct)
    {
        await using var shortRetention = await CoreSimFixture.StartAsync(o => o.SessionRetention = TimeSpan.FromMilliseconds(300));
        await using var defaultRetention = await CoreSimFixture.StartAsync();
        var expired = await CoreSimFixture.DropWithOneUnacknowledgedAsync(shortRetention, "retention-v1", ct);
        var kept = await CoreSimFixture.DropWithOneUnacknowledgedAsync(defaultRetention, "retention-v1", ct);

        // The short-retention core forgets the session (its sweeper runs every second); bounded wait, no timing assert.
        for (int i = 0; i < 150 && (await CoreSimFixture.GetAsync(shortRetention, "/fleet")).GetProperty("sessions").GetInt32() != 0; i++)
        {
            await Task.Delay(100, ct);
        }

        await using var late = await CoreSimFixture.ResumeAsync(shortRetention, expired, ct);
        var error = await late.ReceiveAsync(ct);
        var closed = await late.ReceiveAsync(ct);
        Assert.Multiple(() =>
        {
            Assert.That(error?.GetProperty("type").GetString(), Is.EqualTo("error"));
            Assert.That(error?.GetProperty("code").GetString(), Is.EqualTo("session_unknown"));
            Assert.That(closed, Is.Null, "the core closes after the error");
            Assert.That((int?)late.Socket.CloseStatus, Is.EqualTo(4004), "session unknown: start a fresh session");
        });

        await using var inTime = await CoreSimFixture.ResumeAsync(defaultRetention, kept, ct);
        var welcome = await inTime.ReceiveTypeAsync("welcome", ct);
        var replayed = await inTime.ReceiveTypeAsync("msg", ct);
        Assert.Multiple(() =>
        {
            Assert.That(welcome.GetProperty("resumed").GetBoolean(), Is.True, "the same wait is well inside the default 2 minutes");
            Assert.That(welcome.GetProperty("session").GetString(), Is.EqualTo(kept.Session));
            Assert.That(replayed.GetProperty("body").GetString(), Is.EqualTo("while away"), "the unacknowledged echo is replayed");
        });
    }
}
