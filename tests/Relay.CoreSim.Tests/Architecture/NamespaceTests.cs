using Relay.CoreSim.Configuration;
using Relay.Testing.Architecture;

namespace Relay.CoreSim.Tests.Architecture;

public class NamespaceTests
{
    [Test]
    public void CoreSimNamespaces_UseEachOtherOneWay_AndNoFolderUsesTheHost()
    {
        var graph = new NamespaceGraph(typeof(CoreSimOptions).Assembly, "Relay.CoreSim");

        Assert.Multiple(() =>
        {
            Assert.That(graph.Problems(), Is.Empty);
            Assert.That(graph.Edges["Relay.CoreSim"], Does.Contain("Relay.CoreSim.Configuration"), "the host uses Configuration: the graph is read");
        });
    }
}
