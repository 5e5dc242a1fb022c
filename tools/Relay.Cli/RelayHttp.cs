using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Relay.Cli;

/// <summary>The CLI's HTTP calls to a gateway or core-sim: a timeout, a cap on what is read, and one-line errors.</summary>
internal static class RelayHttp
{
    /// <summary>Largest answer read (the fleet view of a big fleet is well below).</summary>
    public const int MaxResponseBytes = 4 * 1024 * 1024;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>The absolute http(s) URL of <paramref name="path"/> on <paramref name="baseUrl"/>; a bad URL is a <see cref="CliError"/>.</summary>
    public static Uri Resolve(string baseUrl, string path)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new CliError($"'{baseUrl}' is not an http(s) URL, e.g. http://127.0.0.1:8080");
        }

        return new Uri(uri, path);
    }

    /// <summary>Sends a request; returns the status and the JSON body (null when the body is not JSON).</summary>
    public static async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, Uri url, string? bearer, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = Timeout, MaxResponseContentBufferSize = MaxResponseBytes };
        using var request = new HttpRequestMessage(method, url);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        try
        {
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonNode? body = null;
            try
            {
                body = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                // not JSON: the caller says what it expected
            }

            return ((int)response.StatusCode, body);
        }
        catch (HttpRequestException e)
        {
            throw new CliError($"cannot reach {url}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliError($"{url} did not answer within {Timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>GETs JSON; anything but 200 with a JSON object is a <see cref="CliError"/>.</summary>
    public static async Task<JsonObject> GetObjectAsync(Uri url, CancellationToken cancellationToken)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, url, null, cancellationToken).ConfigureAwait(false);
        if (status != 200)
        {
            throw new CliError($"{url} answered {status}");
        }

        return body as JsonObject ?? throw new CliError($"{url} did not answer with a JSON object");
    }
}
