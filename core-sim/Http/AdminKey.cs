using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Relay.CoreSim.Http;

/// <summary>
/// The admin credential (CoreSim:AdminKey) as a bearer header: <c>Authorization: Bearer KEY</c>. Only a header, never a
/// cookie, so a page on another site cannot make a browser send it.
/// </summary>
internal static class AdminKey
{
    /// <summary>Bytes of a generated key (base64url, 43 characters).</summary>
    public const int GeneratedBytes = 32;

    public static string Generate() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(GeneratedBytes));

    /// <summary>Whether the request carries <paramref name="key"/> as its bearer credential (compared in constant time).</summary>
    public static bool IsPresented(HttpRequest request, string? key)
    {
        string header = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(key) || !header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return false;
        }

        // Hashes of equal length: the comparison does not reveal the key's length either.
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim())), SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <summary>401 with <c>WWW-Authenticate: Bearer</c> and a one-line reason.</summary>
    public static IResult Challenge(HttpContext context, string error)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"core-sim\"";
        return Results.Json(new { error }, statusCode: StatusCodes.Status401Unauthorized);
    }
}
