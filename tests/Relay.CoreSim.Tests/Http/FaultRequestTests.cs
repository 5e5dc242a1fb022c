using System.Net;
using System.Text;

namespace Relay.CoreSim.Tests.Http;

/// <summary>A fault request without the relay or session it names is a 400 naming the field, not a 500 (a review found 500s).</summary>
public class FaultRequestTests
{
    [TestCase("/v1/faults/drop-link", "relayId")]
    [TestCase("/v1/faults/drop-relay", "relayId")]
    [TestCase("/v1/faults/block-relay", "relayId")]
    [TestCase("/v1/faults/link-latency", "relayId")]
    [TestCase("/v1/faults/stall", "session")]
    [CancelAfter(30_000)]
    public async Task FaultWithoutItsTarget_Is400_NamingTheField(string path, string field, CancellationToken token)
    {
        await using var host = await CoreSimFixture.StartAsync();
        using var admin = CoreSimFixture.Admin(host);

        using var response = await admin.PostAsync(path, new StringContent("{}", Encoding.UTF8, "application/json"), token);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(token), Does.Contain(field));
    }
}
