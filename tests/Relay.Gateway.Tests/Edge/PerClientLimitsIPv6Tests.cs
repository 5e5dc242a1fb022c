using System.Net;
using Relay.Gateway.Configuration;
using Relay.Gateway.Edge;
using Relay.Gateway.Security;

namespace Relay.Gateway.Tests.Edge;

/// <summary>
/// Every per-address limit counts one client as <c>ClientKey</c> does: an IPv4 address or an IPv6 /64, as the TLS
/// handshake rate and Under Attack mode's refusal share already did. Until stop 42 the pre-auth cap (at accept and in
/// the middleware), the sessions per address, the forwarded requests in flight per address (the pool of 1,024 backhaul
/// connections) and Under Attack mode's new-session rate per address were keyed by the whole address, so one IPv6 host,
/// which owns at least a /64, was unlimited by them (found by a security review).
/// </summary>
public class PerClientLimitsIPv6Tests
{
    private static IPAddress InOneSlash64(int i) => IPAddress.Parse($"2001:db8:1:2::{i + 1:x}");

    [Test]
    public void PreAuthCapPerAddress_OneIPv6Slash64_IsOneClient()
    {
        var gate = new ConnectionGate(new GatewayOptions { MaxPreAuthConnectionsPerIp = 4 }, fileLimit: 65_536);
        int admitted = Enumerable.Range(0, 50).Count(i => gate.TryEnterPreAuth(InOneSlash64(i)) is not null);

        Assert.That(admitted, Is.EqualTo(4), "50 pre-auth connections from one /64 (one client, as ClientRate counts it): only MaxPreAuthConnectionsPerIp of them");
    }

    [Test]
    public void PreAuthCapAtAccept_OneIPv6Slash64_IsOneClient()
    {
        var gate = new ConnectionGate(new GatewayOptions { MaxPreAuthConnectionsPerIp = 4 }, fileLimit: 65_536);
        int admitted = 0;
        for (int i = 0; i < 50; i++)
        {
            if (!gate.RefuseAtAccept(InOneSlash64(i)))
            {
                admitted++;
                gate.TryEnterPreAuth(InOneSlash64(i)); // the connection then waits for its head in a pre-auth place
            }
        }

        Assert.That(admitted, Is.EqualTo(4), "reset at accept beyond the per-client pre-auth cap");
    }

    [Test]
    public void SessionsPerAddress_AndForwardedRequestsPerAddress_OneIPv6Slash64_IsOneClient()
    {
        // IpLimiter is MaxSessionsPerIp (SessionEndpoint._perIp) and EdgeHttp:MaxRequestsPerClient (EdgeHttpForwarder._perClient).
        var limiter = new IpLimiter(64);
        int acquired = Enumerable.Range(0, 1024).Count(i => limiter.TryAcquire(InOneSlash64(i)));

        Assert.That(acquired, Is.EqualTo(64), "one /64 took every one of the edge HTTP pool's 1,024 connections (or 1,024 sessions at MaxSessionsPerIp 64)");
    }

    [Test]
    public void UnderAttackRatePerAddress_OneIPv6Slash64_IsOneClient()
    {
        using var limits = new ConnectionRateLimits(new UnderAttackOptions
        {
            ConnectionBurstPerAddress = 5,
            ConnectionsPerSecondPerAddress = 1,
            ConnectionBurstPerPrefix = 1000,
            ConnectionsPerSecondPerPrefix = 1000,
        });
        int admitted = Enumerable.Range(0, 50).Count(i => limits.TryAcquire(InOneSlash64(i)) is null);

        Assert.That(admitted, Is.EqualTo(5), "rate-address: one /64 gets one address's burst");
    }

    [TestCase("192.0.2.7", "192.0.2.7")]
    [TestCase("::ffff:192.0.2.7", "192.0.2.7")]
    [TestCase("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::")]
    [TestCase("2001:db8:1:2::", "2001:db8:1:2::")]
    [TestCase("fe80::1%3", "fe80::")]
    [TestCase("::1", "::")]
    public void ClientKey_IsTheIPv4Address_OrTheIPv6Slash64(string address, string key)
    {
        Assert.That(ClientKey.Of(IPAddress.Parse(address)), Is.EqualTo(IPAddress.Parse(key)));
    }
}
