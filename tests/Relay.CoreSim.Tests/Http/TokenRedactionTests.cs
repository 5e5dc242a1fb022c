using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relay.Contracts.Tokens;
using Relay.Testing.Logging;

namespace Relay.CoreSim.Tests.Http;

[NonParallelizable]
public class TokenRedactionTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Logs_WithRequestLoggingOn_NeverCarryTheAccessToken(CancellationToken token)
    {
        // Request lines on, and everything else at Trace: the most a log could ever show.
        await using var app = CoreSimHost.Build(
            ["--CoreSim:BindAddress=127.0.0.1", "--CoreSim:HttpPort=0", "--CoreSim:BackhaulPort=0", "--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft.AspNetCore=Trace"],
            environmentName: Environments.Development);
        var capture = new LogCapture();
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        await app.StartAsync(token);
        string http = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First(a => a.StartsWith("http:", StringComparison.Ordinal));
        var tokens = app.Services.GetRequiredService<TokenIssuer>();
        string session = tokens.Issue("direct-user", "s1", "visitor", TimeSpan.FromHours(1)).Token;
        string refused = tokens.Issue("direct-admin", "s1", "admin", TimeSpan.FromHours(1)).Token;

        using (var ws = new ClientWebSocket())
        {
            await ws.ConnectAsync(new Uri($"{http.Replace("http:", "ws:", StringComparison.Ordinal)}/ws?access_token={session}"), token);
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        }

        using var client = new HttpClient();
        var plain = await client.GetAsync($"{http}/ws?access_token={refused}&x=1", token);
        Assert.That(plain.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK));
        await app.StopAsync(token);

        var entries = capture.Entries.ToArray();
        Assert.That(entries, Has.Some.Contains("access_token=[redacted]"), "the request lines were logged, redacted (else this test proves nothing)");
        foreach (var secret in new[] { session, refused })
        {
            Assert.That(entries.Where(e => e.Contains(secret, StringComparison.Ordinal)), Is.Empty);
            Assert.That(entries.Where(e => e.Contains(secret.Split('.')[2], StringComparison.Ordinal)), Is.Empty, "not even the signature");
        }
    }
}
