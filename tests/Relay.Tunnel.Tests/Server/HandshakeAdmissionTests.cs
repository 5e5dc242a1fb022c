using System.Net;

namespace Relay.Tunnel.Tests.Server;

/// <summary>Who gets a handshake slot: per address, in all, and the reserved slots for addresses relays came from.</summary>
public class HandshakeAdmissionTests
{
    private static readonly IPAddress s_relay = IPAddress.Parse("127.0.0.1");

    [Test]
    public void PerAddressLimit_RefusesTheNinthFromOneAddress_OthersStillEnter()
    {
        var admission = new HandshakeAdmission(max: 256, perAddress: 8, reserved: 32);
        var flooder = IPAddress.Parse("127.0.1.1");
        for (int i = 0; i < 8; i++)
        {
            Assert.That(admission.TryEnter(flooder), Is.Null);
        }

        Assert.That(admission.TryEnter(flooder), Does.Contain("MaxPendingHandshakesPerAddress"));
        Assert.That(admission.TryEnter(IPAddress.Parse("127.0.1.2")), Is.Null);

        admission.Exit(flooder, authenticated: false);
        Assert.That(admission.TryEnter(flooder), Is.Null, "a slot given back can be taken again");
    }

    [Test]
    public void PerAddressLimit_OneIPv6Slash64_IsOneSource()
    {
        // One IPv6 host owns a /64: its addresses are one source (a security review found each counted apart).
        var admission = new HandshakeAdmission(max: 256, perAddress: 8, reserved: 32);
        int entered = Enumerable.Range(1, 50).Count(i => admission.TryEnter(IPAddress.Parse($"2001:db8:7:7::{i:x}")) is null);

        Assert.That(entered, Is.EqualTo(8));
        Assert.That(admission.TryEnter(IPAddress.Parse("2001:db8:7:8::1")), Is.Null, "the next /64 is another source");
        admission.Exit(IPAddress.Parse("2001:db8:7:7::ffff"), authenticated: false);
        Assert.That(admission.TryEnter(IPAddress.Parse("2001:db8:7:7::1234")), Is.Null, "a slot given back by any address of the /64");
    }

    [Test]
    public void FloodFillsTheOpenSlots_AnAddressARelayAuthenticatedFromStillEnters()
    {
        var admission = new HandshakeAdmission(max: 16, perAddress: 8, reserved: 4);
        Assert.That(admission.TryEnter(s_relay), Is.Null);
        admission.Exit(s_relay, authenticated: true);

        int entered = 0;
        for (int a = 1; a <= 50; a++)
        {
            if (admission.TryEnter(IPAddress.Parse($"127.0.2.{a}")) is null)
            {
                entered++;
            }
        }

        Assert.That(entered, Is.EqualTo(12), "a flood from many addresses gets the open slots only");
        Assert.That(admission.TryEnter(IPAddress.Parse("127.0.3.1")), Does.Contain("ReservedHandshakes"));
        for (int i = 0; i < 4; i++)
        {
            Assert.That(admission.TryEnter(s_relay), Is.Null, "the relay's address takes the reserved slots");
        }
    }

    [Test]
    public void ScarceSlots_AnUnknownAddressGetsNoSecondSlot()
    {
        var admission = new HandshakeAdmission(max: 10, perAddress: 8, reserved: 2);
        var busy = IPAddress.Parse("127.0.4.1");
        Assert.That(admission.TryEnter(busy), Is.Null);
        for (int a = 2; a <= 4; a++)
        {
            Assert.That(admission.TryEnter(IPAddress.Parse($"127.0.4.{a}")), Is.Null);
        }

        Assert.That(admission.TryEnter(busy), Does.Contain("scarce"), "half the open slots taken: one each");
        Assert.That(admission.TryEnter(IPAddress.Parse("127.0.4.9")), Is.Null, "a new address still enters");
    }
}
