using Relay.Gateway.Configuration;
using Relay.Gateway.Security;
using Relay.WireGuard;

namespace Relay.Gateway;

/// <summary>
/// The gateway's settings checked offline, every problem at once (the operator's <c>relay check FILE</c>, issue 19):
/// the same schema (unknown keys, values that do not convert), secret files and validators (edge HTTP's and its
/// cache's included) as start-up, which stops at the first.
/// </summary>
public static class GatewayConfigCheck
{
    /// <summary>
    /// Checks a configuration file as the gateway reads it (on the defaults; comments allowed): one line per
    /// problem, none when the gateway would start with it. <paramref name="development"/>: as in the Development
    /// environment (a development backhaul key accepted).
    /// </summary>
    public static IReadOnlyList<string> CheckFile(string path, bool development = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            return [$"{path}: no such file"];
        }

        IConfigurationRoot configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonFile(full, optional: false, reloadOnChange: false).Build();
        }
        catch (InvalidDataException e)
        {
            return [$"{path}: not valid JSON: {(e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ")}"];
        }

        return Check(configuration, development);
    }

    /// <summary>Every problem of <paramref name="configuration"/> (its "Gateway" section), one line each.</summary>
    public static IReadOnlyList<string> Check(IConfigurationRoot configuration, bool development = false)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var bad = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, problem) in GatewaySettings.Schema.CheckAll(configuration.AsEnumerable()))
        {
            problems.Add(problem);
            bad.Add(key);
        }

        var secretErrors = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var secrets = GatewayConfiguration.ResolveSecretFiles(configuration, secretErrors);
        problems.AddRange(secretErrors.Values);

        // What binds: the entries that convert, with the secrets read from their files.
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            if (value is not null && !bad.Contains(key))
            {
                values[key] = value;
            }
        }

        foreach (var (key, value) in secrets)
        {
            values[key] = value;
        }

        var bound = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var options = new GatewayOptions();
        bound.GetSection(GatewayOptions.Section).Bind(options);
        if (options.Backhaul.Endpoints.Length == 0)
        {
            options.Backhaul.Endpoints = [BackhaulOptions.DefaultEndpoint];
        }

        if (development && string.IsNullOrEmpty(options.Backhaul.SharedKey))
        {
            options.Backhaul.SharedKey = Relay.Tunnel.Links.LinkKey.DevelopmentKey;
        }

        // A secret whose file failed is reported once, for its file, not again as missing.
        problems.AddRange(GatewayOptionsValidator.Problems(options, development)
            .Where(p => !secretErrors.Keys.Any(k => p.StartsWith(k + " ", StringComparison.OrdinalIgnoreCase) || p.StartsWith(k + ":", StringComparison.OrdinalIgnoreCase))));
        var underAttack = bound.GetSection(UnderAttackOptions.Section).Get<UnderAttackOptions>() ?? new UnderAttackOptions();
        problems.AddRange(UnderAttackOptionsValidator.Problems(underAttack));
        var edgeHttp = bound.GetSection(EdgeHttp.EdgeHttpOptions.Section).Get<EdgeHttp.EdgeHttpOptions>() ?? new EdgeHttp.EdgeHttpOptions();
        problems.AddRange(new EdgeHttp.EdgeHttpOptionsValidator().Validate(null, edgeHttp).Failures ?? []);
        // A rule key no rule option reads, or a value that does not convert: one line, and the cache's other settings
        // checked without the rules (the binder would throw on them).
        string? ruleKeys = EdgeHttp.Cache.EdgeCacheOptionsValidator.CheckRuleKeys(configuration);
        if (ruleKeys is not null)
        {
            problems.Add(ruleKeys);
        }

        string rules = EdgeHttp.Cache.EdgeCacheOptions.Section + ":Rules:";
        var cacheSource = ruleKeys is null ? bound : new ConfigurationBuilder()
            .AddInMemoryCollection(values.Where(v => !v.Key.StartsWith(rules, StringComparison.OrdinalIgnoreCase)))
            .Build();
        var cache = cacheSource.GetSection(EdgeHttp.Cache.EdgeCacheOptions.Section).Get<EdgeHttp.Cache.EdgeCacheOptions>() ?? new EdgeHttp.Cache.EdgeCacheOptions();
        problems.AddRange(new EdgeHttp.Cache.EdgeCacheOptionsValidator().Validate(null, cache).Failures ?? []);

        const string wireGuard = GatewayOptions.Section + ":WireGuard";
        var tunnel = bound.GetSection(wireGuard).Get<WireGuardOptions>() ?? new WireGuardOptions();
        problems.AddRange(tunnel.Problems(wireGuard));
        return problems;
    }
}
