using Microsoft.Extensions.Options;

namespace Relay.Gateway.Tests.Security;

/// <summary>Gateway:UnderAttack is its own options section: validated at start, unknown keys reported.</summary>
public class UnderAttackOptionsTests
{
    private static string[] Required =>
    [
        $"--Gateway:PublicKeyPath={GatewayFixture.PublicKeyPath}",
        $"--Gateway:Backhaul:SharedKey={GatewayFixture.SharedKey}",
        "--Gateway:HttpPort=0",
        "--Gateway:Health:AgentPort=-1",
    ];

    [TestCase("--Gateway:UnderAttack:Difficulty=0", "Gateway:UnderAttack:Difficulty")]
    [TestCase("--Gateway:UnderAttack:Difficulty=40", "Gateway:UnderAttack:Difficulty")]
    [TestCase("--Gateway:UnderAttack:ChallengeLifetime=00:00:00", "Gateway:UnderAttack:ChallengeLifetime")]
    [TestCase("--Gateway:UnderAttack:RefusedPerSecondOff=500", "Gateway:UnderAttack:RefusedPerSecondOff")]
    [TestCase("--Gateway:UnderAttack:RequestHeadTimeout=00:00:00.1", "Gateway:UnderAttack:RequestHeadTimeout")]
    [TestCase("--Gateway:UnderAttack:ConnectionBurstPerAddress=0", "Gateway:UnderAttack:ConnectionBurstPerAddress")]
    public void BadSetting_StopsStartUp_WithOneLineNamingIt(string argument, string setting)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => GatewayHost.Build([.. Required, argument]));
        Assert.That(ex!.Failures.Single(), Does.Contain(setting));
    }

    [Test]
    public void UnknownKey_IsReportedWithTheNearestValidName()
    {
        Assert.That(GatewaySettings.Schema.Check([new("Gateway:UnderAttack:Dificulty", "12")]), Is.EqualTo("unknown setting Gateway:UnderAttack:Dificulty (did you mean Gateway:UnderAttack:Difficulty?)"));
    }
}
