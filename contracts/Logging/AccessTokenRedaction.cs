using System.Text.RegularExpressions;

namespace Relay.Contracts.Logging;

/// <summary>Replaces the value of every <c>access_token=</c> in a text (request lines, URLs) with <c>[redacted]</c>.</summary>
internal static partial class AccessTokenRedaction
{
    public const string Marker = "access_token=";

    public static bool Carries(string? text) => text is not null && text.Contains(Marker, StringComparison.OrdinalIgnoreCase);

    public static string Redact(string text) => Carries(text) ? TokenValue().Replace(text, "${key}[redacted]") : text;

    [GeneratedRegex(@"(?<key>access_token=)[^&\s""'#]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TokenValue();
}
