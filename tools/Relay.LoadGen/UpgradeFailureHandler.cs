using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Relay.LoadGen;

/// <summary>
/// The HTTP handler under one session's websocket upgrades: tells the session why an upgrade failed, which
/// <see cref="System.Net.WebSockets.ClientWebSocket"/> does not (it keeps the status, not the body, and no socket
/// error). A refusal is its status and the first line of its body, where a relay says why ("HTTP 429: more than 100
/// sessions from one address"); no answer is the socket error ("socket error: ConnectionRefused").
/// </summary>
internal sealed class UpgradeFailureHandler(HttpMessageHandler inner, Action<string?> report) : DelegatingHandler(inner)
{
    /// <summary>Body bytes read from a refusal. 1 KiB.</summary>
    private const int MaxBodyBytes = 1024;

    /// <summary>Characters of the body's first line kept in a reason. 200.</summary>
    private const int MaxReasonChars = 200;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            report(Describe(e));
            throw;
        }

        if (response.StatusCode == HttpStatusCode.SwitchingProtocols || response.IsSuccessStatusCode)
        {
            report(null); // upgraded: 101 on HTTP/1.1, 200 for an HTTP/2 extended CONNECT
            return response;
        }

        report(await RefusalAsync(response, cancellationToken).ConfigureAwait(false));
        return response; // the websocket then fails with the status, as without this handler
    }

    /// <summary>"HTTP 429: more than 100 sessions from one address", or "HTTP 429" when the body says nothing readable.</summary>
    internal static async Task<string> RefusalAsync(HttpResponseMessage response, CancellationToken ct)
    {
        string status = $"HTTP {(int)response.StatusCode}";
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            byte[] buffer = new byte[MaxBodyBytes];
            int length = 0, read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false)) > 0)
            {
                length += read;
            }

            string line = Encoding.UTF8.GetString(buffer, 0, length).Split('\n', 2)[0].Trim();
            line = line.Length > MaxReasonChars ? line[..MaxReasonChars] : line;
            return line.Length == 0 || line.Any(char.IsControl) ? status : $"{status}: {line}";
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            return status; // the status says enough; the body did not come
        }
    }

    /// <summary>An upgrade that got no answer: the socket error when there is one, else what HTTP saw.</summary>
    internal static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return $"socket error: {socket.SocketErrorCode}";
            }
        }

        return e switch
        {
            HttpRequestException http => $"no HTTP answer: {http.HttpRequestError}",
            OperationCanceledException => "no HTTP answer in time (connect timeout)",
            _ => $"I/O error: {e.GetType().Name}",
        };
    }
}
