using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.Gateway.Configuration;
using Relay.Gateway.Health;

namespace Relay.Gateway.Tokens;

/// <summary>
/// The core's token keys for the gateway's <see cref="TokenVerifier"/>: the PEM file of
/// <see cref="GatewayOptions.PublicKeyPath"/> read once, or the JWKS at <see cref="GatewayOptions.JwksUrl"/> fetched at
/// start, every <see cref="GatewayOptions.JwksRefreshInterval"/> (on the <see cref="TimeProvider"/>) and when a token
/// names an unknown <c>kid</c> (at most once per <see cref="UnknownKidRefreshGap"/>: random kids cannot make the gateway
/// hammer the core). As the "tokens" health signal, a JWKS it cannot get makes the relay sick: /readyz 503 with the reason.
/// </summary>
internal sealed partial class TokenKeySource : IHostedService, IHealthSignal, IDisposable
{
    /// <summary>Least time between two refreshes asked for by unknown kids.</summary>
    internal static readonly TimeSpan UnknownKidRefreshGap = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(5);

    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpClient? _http;
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _timer;
    private int _refreshing;
    private long _lastUnknownKidRefresh;
    private volatile string? _error;
    private volatile bool _fetched;

    public TokenKeySource(IOptions<GatewayOptions> options, TimeProvider time, ILogger<TokenKeySource> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        if (string.IsNullOrEmpty(_options.JwksUrl))
        {
            Verifier = TokenVerifier.FromPem(File.ReadAllText(_options.PublicKeyPath), time, _options.TokenIssuer, _options.TokenAudience, _options.TokenClockSkew);
            _fetched = true;
        }
        else
        {
            _http = new HttpClient { Timeout = FetchTimeout };
            Verifier = new TokenVerifier([], time, _options.TokenIssuer, _options.TokenAudience, _options.TokenClockSkew) { UnknownKeyId = OnUnknownKeyId };
        }
    }

    /// <summary>Verifies client tokens with the keys as last fetched.</summary>
    public TokenVerifier Verifier { get; }

    public string Name => "tokens";

    public HealthReading Read()
    {
        var values = new Dictionary<string, object?>
        {
            ["source"] = _http is null ? "file" : "jwks",
            ["keyIds"] = Verifier.KeyIds,
        };
        if (_http is null)
        {
            return HealthReading.Healthy(values);
        }

        string? error = _error;
        if (error is not null)
        {
            return new HealthReading(HealthLevel.Sick, $"token keys: cannot get the core's JWKS from {_options.JwksUrl}: {error}", values);
        }

        return _fetched ? HealthReading.Healthy(values) : new HealthReading(HealthLevel.Sick, "token keys: the core's JWKS is not fetched yet", values);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_http is not null)
        {
            // First fetch at once (readiness waits for it), then every interval.
            _timer = _time.CreateTimer(static s => ((TokenKeySource)s!).StartRefresh(), this, TimeSpan.Zero, _options.JwksRefreshInterval);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _http?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Fetches the JWKS now (one fetch at a time) and replaces the verifier's keys.</summary>
    internal async Task RefreshAsync()
    {
        if (_http is null || Interlocked.Exchange(ref _refreshing, 1) == 1)
        {
            return;
        }

        try
        {
            string json = await _http.GetStringAsync(_options.JwksUrl, _stopping.Token).ConfigureAwait(false);
            var keys = TokenVerifier.KeysFromJwks(json);
            if (keys.Count == 0)
            {
                throw new InvalidDataException("the JWKS holds no signing key");
            }

            Verifier.ReplaceKeys(keys);
            _fetched = true;
            if (_error is not null)
            {
                Log.Recovered(_logger, _options.JwksUrl!);
            }

            _error = null;
            Log.Fetched(_logger, keys.Count, string.Join(", ", keys.Select(k => k.KeyId)));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ArgumentException or InvalidDataException && !_stopping.IsCancellationRequested)
        {
            _error = e.Message;
            Log.FetchFailed(_logger, _options.JwksUrl!, e.Message);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private void StartRefresh() => _ = RefreshAsync();

    private void OnUnknownKeyId(string? kid)
    {
        long now = _time.GetTimestamp();
        long last = Interlocked.Read(ref _lastUnknownKidRefresh);
        if (last != 0 && _time.GetElapsedTime(last, now) < UnknownKidRefreshGap || Interlocked.CompareExchange(ref _lastUnknownKidRefresh, now, last) != last)
        {
            return;
        }

        Log.UnknownKid(_logger, kid ?? "(none)");
        StartRefresh();
    }
}
