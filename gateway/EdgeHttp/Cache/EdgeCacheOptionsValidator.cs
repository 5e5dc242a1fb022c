using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Relay.Contracts.Configuration;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>Checks <see cref="EdgeCacheOptions"/> at start: one line per bad setting, each rule named by its key.</summary>
internal sealed class EdgeCacheOptionsValidator : IValidateOptions<EdgeCacheOptions>
{
    public const int MaxRules = 256;
    public const int MaxEdgeTtlSeconds = 365 * 24 * 3600;
    public const int MaxStaleIfErrorSeconds = 30 * 24 * 3600;
    public const int MaxLockTimeoutMilliseconds = 60_000;
    public const int MaxTagLength = 128;

    public ValidateOptionsResult Validate(string? name, EdgeCacheOptions options)
    {
        var failures = new List<string>();
        if (options.SizeLimitBytes < 1024)
        {
            failures.Add($"{EdgeCacheOptions.Section}:SizeLimitBytes must be at least 1024; was {options.SizeLimitBytes}.");
        }

        if (options.MaximumBodyBytes < 1 || options.MaximumBodyBytes > options.SizeLimitBytes)
        {
            failures.Add($"{EdgeCacheOptions.Section}:MaximumBodyBytes must be 1 to SizeLimitBytes ({options.SizeLimitBytes}); was {options.MaximumBodyBytes}.");
        }

        if (options.LockTimeoutMilliseconds is < 0 or > MaxLockTimeoutMilliseconds)
        {
            failures.Add($"{EdgeCacheOptions.Section}:LockTimeoutMilliseconds must be 0 to {MaxLockTimeoutMilliseconds} (1 minute); was {options.LockTimeoutMilliseconds}.");
        }

        if (options.StaleIfErrorSeconds is < 0 or > MaxStaleIfErrorSeconds)
        {
            failures.Add($"{EdgeCacheOptions.Section}:StaleIfErrorSeconds must be 0 to {MaxStaleIfErrorSeconds} (30 days); was {options.StaleIfErrorSeconds}.");
        }

        if (options.Rules.Count > MaxRules)
        {
            failures.Add($"{EdgeCacheOptions.Section}:Rules: at most {MaxRules} rules; were {options.Rules.Count}.");
        }

        for (int i = 0; i < options.Rules.Count && i < MaxRules; i++)
        {
            if (Problem(options.Rules[i]) is { } problem)
            {
                failures.Add($"{EdgeCacheOptions.Section}:Rules:{i}: {problem}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>What is wrong with one rule, as one sentence naming the key; null when it is fine.</summary>
    internal static string? Problem(EdgeCacheRuleOptions rule)
    {
        if (string.IsNullOrEmpty(rule.Path))
        {
            return "Path is required (e.g. /assets/**).";
        }

        if (rule.Path[0] is not ('/' or '*'))
        {
            return $"Path must start with '/' or '*'; was '{rule.Path}'.";
        }

        if (CacheGlob.TryCompile(rule.Path, '/', out string? pathError) is null)
        {
            return $"Path '{rule.Path}' {pathError}.";
        }

        if (!string.IsNullOrEmpty(rule.Host) && CacheGlob.TryCompile(rule.Host, '.', out string? hostError) is null)
        {
            return $"Host '{rule.Host}' {hostError}.";
        }

        if (!Enum.IsDefined(rule.Action))
        {
            return $"Action must be CacheEverything or Bypass; was {rule.Action}.";
        }

        if (rule.EdgeTtlSeconds is < 1 or > MaxEdgeTtlSeconds)
        {
            return $"EdgeTtlSeconds must be 1 to {MaxEdgeTtlSeconds} (1 year); was {rule.EdgeTtlSeconds}.";
        }

        if (rule.BrowserTtlSeconds is < 0 or > MaxEdgeTtlSeconds)
        {
            return $"BrowserTtlSeconds must be 0 to {MaxEdgeTtlSeconds} (1 year); was {rule.BrowserTtlSeconds}.";
        }

        if (rule.StaleIfErrorSeconds is < 0 or > MaxStaleIfErrorSeconds)
        {
            return $"StaleIfErrorSeconds must be 0 to {MaxStaleIfErrorSeconds} (30 days); was {rule.StaleIfErrorSeconds}.";
        }

        if (rule.VaryByHeader is { Length: > 0 } header && !IsToken(header))
        {
            return $"VaryByHeader must be a header name; was '{header}'.";
        }

        if (rule.Tags.Length > EdgeCacheTags.MaxTagsPerEntry || rule.Tags.Any(t => t.Length is 0 or > MaxTagLength || t.Any(char.IsWhiteSpace)))
        {
            return $"Tags: at most {EdgeCacheTags.MaxTagsPerEntry}, each 1 to {MaxTagLength} characters without spaces.";
        }

        return null;
    }

    /// <summary>
    /// Before binding: a key under a rule that no rule option reads, or a value that does not convert (the binder would
    /// throw with a stack trace), as one line naming the key; null when every rule key is fine.
    /// </summary>
    internal static string? CheckRuleKeys(IConfiguration configuration)
    {
        foreach (var rule in configuration.GetSection(EdgeCacheOptions.Section + ":Rules").GetChildren())
        {
            if (!int.TryParse(rule.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                return $"{rule.Path} is not a rule: set rules as {EdgeCacheOptions.Section}:Rules:0:Path, …:Rules:1:Path, …";
            }

            var schema = new SettingsSchema(rule.Path, typeof(EdgeCacheRuleOptions));
            if (schema.Check(rule.AsEnumerable()) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private static bool IsToken(string name) => name.Length <= 128 && name.All(c => c < 127 && (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)));
}
