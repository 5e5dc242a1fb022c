using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Relay.CoreSim.Tls;

/// <summary>The optional wss certificate of core-sim's HTTPS listener: a PEM certificate and its PEM private key.</summary>
internal static class CoreSimCertificate
{
    /// <summary>Loads the certificate with its private key, usable by SslStream on Linux.</summary>
    public static X509Certificate2 Load(string certificatePath, string keyPath)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        // Export and re-import so SslStream on Linux gets a certificate with a usable private key.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>One line naming the bad TLS setting, or null when the pair loads (or TLS is off).</summary>
    public static string? Check(string? certificatePath, string? keyPath, int httpsPort)
    {
        if (string.IsNullOrEmpty(certificatePath))
        {
            return string.IsNullOrEmpty(keyPath) ? null : "CoreSim:CertificateKeyPath is set but CoreSim:CertificatePath is not.";
        }

        if (httpsPort is < 0 or > 65535)
        {
            return $"CoreSim:HttpsPort: must be 0-65535; was {httpsPort}.";
        }

        if (!File.Exists(certificatePath))
        {
            return $"CoreSim:CertificatePath: file '{certificatePath}' does not exist.";
        }

        if (string.IsNullOrEmpty(keyPath))
        {
            return "CoreSim:CertificateKeyPath is required with CoreSim:CertificatePath (PEM private key).";
        }

        if (!File.Exists(keyPath))
        {
            return $"CoreSim:CertificateKeyPath: file '{keyPath}' does not exist.";
        }

        try
        {
            using var certificate = Load(certificatePath, keyPath);
            return certificate.HasPrivateKey ? null : $"CoreSim:CertificatePath: '{certificatePath}' loaded without a private key.";
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            return $"CoreSim:CertificatePath/CertificateKeyPath: '{certificatePath}' with '{keyPath}' is not a PEM certificate and matching key ({e.Message.Trim()}).";
        }
    }
}
