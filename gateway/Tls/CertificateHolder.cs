using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Relay.Gateway.Configuration;

namespace Relay.Gateway.Tls;

/// <summary>The wss certificate, reloaded when its file changes (checked at most every 2 s, at handshake time).</summary>
/// <remarks>
/// Handed to each handshake as one <see cref="SslStreamCertificateContext"/> per loaded file (<see cref="Context"/>),
/// not as a certificate: given a bare certificate (Kestrel's <c>ServerCertificateSelector</c>) SslStream builds a new
/// context, its chain and, on Linux, a new OpenSSL SSL_CTX for every connection. Measured with
/// <c>openssl s_time -new</c> against the wss port: gateway CPU per handshake 1.9–2.5 ms with the selector, see
/// bench/README.md "TLS handshake cost" for the figure with the cached context.
/// </remarks>
internal sealed class CertificateHolder(GatewayOptions options)
{
    private readonly object _gate = new();
    private X509Certificate2? _current;
    private Built? _built;
    private DateTime _loadedStamp;
    private long _nextCheck;

    /// <summary>The current certificate's context, built once per loaded file.</summary>
    public SslStreamCertificateContext Context
    {
        get
        {
            var certificate = Current;
            var built = Volatile.Read(ref _built);
            if (built is not null && ReferenceEquals(built.Certificate, certificate))
            {
                return built.Context;
            }

            built = new Built(certificate, SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true));
            Volatile.Write(ref _built, built);
            return built.Context;
        }
    }

    public X509Certificate2 Current
    {
        get
        {
            long now = Environment.TickCount64;
            if (_current is not null && now < Volatile.Read(ref _nextCheck))
            {
                return _current;
            }

            lock (_gate)
            {
                _nextCheck = now + 2000;
                var stamp = File.GetLastWriteTimeUtc(options.CertificatePath!);
                if (_current is null || stamp != _loadedStamp)
                {
                    try
                    {
                        _current = Load();
                        _loadedStamp = stamp;
                    }
                    catch (Exception) when (_current is not null)
                    {
                        // A half-written file: keep serving the previous certificate until the next check.
                    }
                }

                return _current!;
            }
        }
    }

    private X509Certificate2 Load()
    {
        string path = options.CertificatePath!;
        if (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        }

        using var pem = X509Certificate2.CreateFromPemFile(path, options.CertificateKeyPath);
        // Export and re-import so SslStream on Linux gets a certificate with a usable private key.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private sealed record Built(X509Certificate2 Certificate, SslStreamCertificateContext Context);
}
