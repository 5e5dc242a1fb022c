using System.Text;
using System.Text.RegularExpressions;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// A glob compiled to an anchored, case-insensitive regex: <c>**</c> any characters (<c>**/</c> also none),
/// <c>*</c> any within one segment, <c>?</c> one character of a segment, <c>{a,b}</c> alternatives (not nested).
/// </summary>
internal static class CacheGlob
{
    public const int MaxLength = 512;

    /// <summary>The regex for <paramref name="glob"/>, or null with <paramref name="error"/> saying why it is not one.</summary>
    /// <param name="glob">The pattern.</param>
    /// <param name="separator">The segment separator: '/' for paths, '.' for hosts.</param>
    /// <param name="error">Why the pattern is refused.</param>
    public static Regex? TryCompile(string glob, char separator, out string? error)
    {
        error = null;
        if (glob.Length is 0 or > MaxLength)
        {
            error = $"must be 1 to {MaxLength} characters";
            return null;
        }

        string segment = $"[^{Regex.Escape(separator.ToString())}]";
        var pattern = new StringBuilder("^");
        bool inBraces = false;
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            switch (c)
            {
                case '*' when i + 1 < glob.Length && glob[i + 1] == '*':
                    bool slash = i + 2 < glob.Length && glob[i + 2] == separator;
                    pattern.Append(slash ? $"(?:.*{Regex.Escape(separator.ToString())})?" : ".*");
                    i += slash ? 2 : 1;
                    break;
                case '*':
                    pattern.Append(segment).Append('*');
                    break;
                case '?':
                    pattern.Append(segment);
                    break;
                case '{' when inBraces:
                    error = "has a '{' inside braces";
                    return null;
                case '{':
                    inBraces = true;
                    pattern.Append("(?:");
                    break;
                case '}' when !inBraces:
                    error = "has a '}' without its '{'";
                    return null;
                case '}':
                    inBraces = false;
                    pattern.Append(')');
                    break;
                case ',' when inBraces:
                    pattern.Append('|');
                    break;
                default:
                    pattern.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        if (inBraces)
        {
            error = "has a '{' without its '}'";
            return null;
        }

        // NonBacktracking: matching is linear in the path's length whatever the pattern, so no match can time out
        // (a timeout would turn a request into a 500).
        return new Regex(pattern.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
    }
}
