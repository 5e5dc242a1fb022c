using System.Net;

namespace Relay.Tunnel.Tests.Server;

/// <summary>Who gets a handshake slot: per address, in all, and the reserved slots for addresses relays came from or in known networks.</summary>
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
    public void KnownNetworks_AnAddressInOne_TakesTheReservedSlots_BeforeAnyRelayAuthenticatedFromIt()
    {
        // A security review (stop 42): after a restart no address is known, so a flood holding the open slots kept every
        // relay out. The relays' networks from configuration are known from the start.
        var admission = new HandshakeAdmission(max: 16, perAddress: 8, reserved: 4, [IPNetwork.Parse("10.77.0.0/16"), IPNetwork.Parse("fd00:77::/64"), IPNetwork.Parse("2001:db8::5/128")]);
        int entered = Enumerable.Range(1, 50).Count(a => admission.TryEnter(IPAddress.Parse($"127.0.2.{a}")) is null);
        Assert.That(entered, Is.EqualTo(12), "the flood holds every open slot");

        Assert.Multiple(() =>
        {
            Assert.That(admission.TryEnter(IPAddress.Parse("10.77.3.4")), Is.Null, "an IPv4 address in 10.77.0.0/16");
            Assert.That(admission.TryEnter(IPAddress.Parse("::ffff:10.77.9.9")), Is.Null, "the same, IPv4-mapped (a dual-stack listener)");
            Assert.That(admission.TryEnter(IPAddress.Parse("fd00:77::1234:5678")), Is.Null, "an IPv6 address in fd00:77::/64");
            Assert.That(admission.TryEnter(IPAddress.Parse("2001:db8::5")), Is.Null, "the one address of 2001:db8::5/128");
            Assert.That(admission.TryEnter(IPAddress.Parse("2001:db8::6")), Does.Contain("ReservedHandshakes"), "its /64 neighbour is not in the network");
            Assert.That(admission.TryEnter(IPAddress.Parse("10.78.0.1")), Does.Contain("ReservedHandshakes"), "outside every network");
        });
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
