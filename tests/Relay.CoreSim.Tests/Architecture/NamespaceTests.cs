using Relay.CoreSim.Configuration;
using Relay.Testing.Architecture;

namespace Relay.CoreSim.Tests.Architecture;

public class NamespaceTests
{
    [Test]
    public void CoreSimNamespaces_UseEachOtherOneWay()
    {
        var graph = new NamespaceGraph(typeof(CoreSimOptions).Assembly, "Relay.CoreSim");

        Assert.Multiple(() =>
        {
            Assert.That(graph.Cycles(), Is.Empty, "namespaces that use each other");
            Assert.That(graph.Edges.Where(e => e.Value.Contains("Relay.CoreSim")).Select(e => e.Key), Is.Empty, "namespaces using the root");
            Assert.That(graph.Edges["Relay.CoreSim"], Does.Contain("Relay.CoreSim.Configuration"), "the root (the host) uses Configuration: the graph is read");
        });
    }
}
