using Relay.Gateway.Configuration;
using Relay.Testing.Architecture;

namespace Relay.Gateway.Tests.Architecture;

public class NamespaceTests
{
    private static readonly NamespaceGraph s_graph = new(typeof(GatewayOptions).Assembly, "Relay.Gateway");

    [Test]
    public void GatewayNamespaces_UseEachOtherOneWay_AndNoFolderUsesTheHost() => Assert.That(s_graph.Problems(), Is.Empty);

    [Test]
    public void Configuration_UsesNoOtherGatewayNamespace_AndTheHostUsesIt()
    {
        Assert.Multiple(() =>
        {
            Assert.That(s_graph.Edges.GetValueOrDefault("Relay.Gateway.Configuration") ?? [], Is.Empty, "Configuration uses");
            Assert.That(s_graph.Edges["Relay.Gateway"], Does.Contain("Relay.Gateway.Configuration"), "the host uses Configuration: the graph is read");
        });
    }
}
