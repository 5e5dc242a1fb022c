namespace Relay.Contracts.Tokens;

/// <summary>base64url without padding (RFC 7515 §2).</summary>
public static class Base64Url
{
    /// <summary>Encodes bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> data) => System.Buffers.Text.Base64Url.EncodeToString(data);

    /// <summary>Decodes text; false when it is not base64url.</summary>
    public static bool TryDecode(string text, out byte[] data)
    {
        try
        {
            data = System.Buffers.Text.Base64Url.DecodeFromChars(text);
            return true;
        }
        catch (FormatException)
        {
            data = [];
            return false;
        }
    }
}
