using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Relay.Testing.Logging;

namespace Relay.Gateway.Tests.Logging;

[NonParallelizable]
public class StartupLogTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Logs_WhileTheCoreIsNotUpYet_HaveNoErrors(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(withCore: false);
        var capture = new LogCapture();
        gw.App.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);

        using var http = new HttpClient();
        for (int i = 0; i < 5; i++)
        {
            var ready = await http.GetAsync(gw.HttpUrl + "/readyz", token);
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "no backhaul: not ready");
        }

        Assert.That(capture.Entries.Where(e => e.StartsWith("Error", StringComparison.Ordinal) || e.StartsWith("Critical", StringComparison.Ordinal)), Is.Empty);
    }
}
