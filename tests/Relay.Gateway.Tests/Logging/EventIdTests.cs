using System.Reflection;
using Microsoft.Extensions.Logging;
using Relay.CoreSim;
using Relay.Tunnel.Pool;

namespace Relay.Gateway.Tests.Logging;

/// <summary>docs/logging.md: an event id names one message in its assembly, and lies in its type's written range.</summary>
public class EventIdTests
{
    private static IEnumerable<Assembly> Assemblies() => [typeof(GatewayHost).Assembly, typeof(LinkPool).Assembly, typeof(CoreSimHost).Assembly];

    [TestCaseSource(nameof(Assemblies))]
    public void LoggerMessages_InOneAssembly_HaveUniqueEventIds(Assembly assembly)
    {
        var messages = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (Id: x.Attribute!.EventId, Name: $"{x.Method.DeclaringType!.DeclaringType?.Name ?? x.Method.DeclaringType.Name}.{x.Method.Name}"))
            .ToList();

        Assert.That(messages, Is.Not.Empty, "LoggerMessage attributes are visible to reflection");
        var duplicates = messages.GroupBy(m => m.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}");
        Assert.That(duplicates, Is.Empty);
    }
}
