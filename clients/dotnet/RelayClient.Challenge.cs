using System.Net.Http.Json;
using System.Text.Json;
using Relay.Contracts.Challenges;

namespace Relay.Client;

public sealed partial class RelayClient
{
    private static readonly HttpClient s_challengeHttp = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// After a refused connect (429): GET /challenge from the same gateway; when it says Under Attack mode is on,
    /// finds the nonce (about 2^difficulty SHA-256, off the caller's thread) and returns the websocket URL with
    /// <c>pow=&lt;challenge&gt;.&lt;nonce&gt;</c>. Null when the mode is off or the gateway gives no challenge (the
    /// refusal was something else, such as too many sessions from this address).
    /// </summary>
    private async Task<Uri?> SolveChallengeAsync(Uri websocketUrl, CancellationToken ct)
    {
        var challengeUrl = new UriBuilder(websocketUrl)
        {
            Scheme = websocketUrl.Scheme == "wss" ? "https" : "http",
            Path = "/challenge",
            Query = string.Empty,
        }.Uri;
        ChallengeResponse? response;
        try
        {
            response = await s_challengeHttp.GetFromJsonAsync<ChallengeResponse>(challengeUrl, s_json, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or NotSupportedException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }

        if (response is not { UnderAttack: true, Challenge: { Length: > 0 } challenge, Difficulty: > 0 and <= 32 })
        {
            return null;
        }

        string nonce = await Task.Run(() => ProofOfWork.Solve(challenge, response.Difficulty, ct), ct).ConfigureAwait(false);
        return new UriBuilder(websocketUrl) { Query = websocketUrl.Query.TrimStart('?') + $"&{ProofOfWork.QueryParameter}={Uri.EscapeDataString(challenge)}.{nonce}" }.Uri;
    }

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private sealed record ChallengeResponse(bool UnderAttack, string? Challenge, int Difficulty);
}
