using Microsoft.Extensions.Options;

namespace Relay.Gateway.Tests;

public class OptionsTests
{
    [TestCase("--Gateway:MaxMessageSize=10", "Gateway:MaxMessageSize")]
    [TestCase("--Gateway:Backhaul:SharedKey=short", "Gateway:Backhaul:SharedKey")]
    [TestCase("--Gateway:BindAddress=not-an-ip", "Gateway:BindAddress")]
    [TestCase("--Gateway:Health:AgentPort=70000", "Gateway:Health:AgentPort")]
    [TestCase("--Gateway:PublicKeyPath=/nonexistent/key.pem", "Gateway:PublicKeyPath")]
    public void BadSetting_StopsStartUp_WithOneLineNamingIt(string argument, string setting)
    {
        string[] args =
        [
            $"--Gateway:PublicKeyPath={GatewayFixture.PublicKeyPath}",
            $"--Gateway:Backhaul:SharedKey={GatewayFixture.SharedKey}",
            argument,
        ];
        var ex = Assert.Throws<OptionsValidationException>(() => GatewayHost.Build(args));
        Assert.That(ex!.Failures.Single(), Does.Contain(setting));
        Assert.That(ex.Failures.Single(), Does.Not.Contain("\n"));
    }
}
