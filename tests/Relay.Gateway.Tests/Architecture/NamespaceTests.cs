using Relay.Gateway.Configuration;
using Relay.Testing.Architecture;

namespace Relay.Gateway.Tests.Architecture;

public class NamespaceTests
{
    [Test]
    public void GatewayNamespaces_UseEachOtherOneWay()
    {
        var graph = new NamespaceGraph(typeof(GatewayOptions).Assembly, "Relay.Gateway");

        Assert.That(graph.Cycles(), Is.Empty, "namespaces that use each other");
    }

    [Test]
    public void Configuration_UsesNoOtherGatewayNamespace_AndTheRootIsUsedByNone()
    {
        var graph = new NamespaceGraph(typeof(GatewayOptions).Assembly, "Relay.Gateway");

        Assert.Multiple(() =>
        {
            Assert.That(graph.Edges.GetValueOrDefault("Relay.Gateway.Configuration") ?? [], Is.Empty, "Configuration uses");
            Assert.That(graph.Edges.Where(e => e.Value.Contains("Relay.Gateway")).Select(e => e.Key), Is.Empty, "namespaces using the root");
            Assert.That(graph.Edges["Relay.Gateway"], Does.Contain("Relay.Gateway.Configuration"), "the root (the host) uses Configuration: the graph is read");
        });
    }
}
