namespace Relay.WireGuard;

/// <summary>A WireGuard configuration that cannot be used: the message names the file, section, line and key.</summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConfigException(string message, string? source = null, string? section = null, int line = 0, string? key = null)
        : base(Format(message, source, section, line, key))
    {
        ConfigSource = source;
        Section = section;
        LineNumber = line;
        Key = key;
    }

    /// <summary>Creates the exception with only a message.</summary>
    public ConfigException()
        : this("invalid WireGuard configuration")
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The file or other origin of the configuration, when known.</summary>
    public string? ConfigSource { get; }

    /// <summary>The section ("Interface" or "Peer"), when known.</summary>
    public string? Section { get; }

    /// <summary>The 1-based line, or 0 when not tied to one line.</summary>
    public int LineNumber { get; }

    /// <summary>The key (e.g. "AllowedIPs"), when known.</summary>
    public string? Key { get; }

    private static string Format(string message, string? source, string? section, int line, string? key)
    {
        var where = new List<string>(4);
        if (source is not null) where.Add(source);
        if (line > 0) where.Add($"line {line}");
        if (section is not null) where.Add($"[{section}]");
        if (key is not null) where.Add(key);
        return where.Count == 0 ? message : $"{string.Join(" ", where)}: {message}";
    }
}
