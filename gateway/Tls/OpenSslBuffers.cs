using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Relay.Gateway.Tls;

/// <summary>
/// Issue 21, idle memory over wss: OpenSSL keeps a read and a write buffer (about 17 KB each) for every connection
/// unless <c>SSL_MODE_RELEASE_BUFFERS</c> is set, which nginx and HAProxy set and .NET's OpenSSL shim does not
/// (dotnet/runtime, <c>pal_ssl.c</c>). Measured with <c>TLS=1 scripts/bench-idle-memory.sh</c>, 15,000 idle wss sessions:
/// 42 KB of gateway RSS per session, 10 KB of it managed heap. SslStream exposes no handle, so this takes the SSL*
/// from its private <c>_securityContext</c> (on Linux a <c>SafeSslHandle</c>) by reflection and sets the mode on it
/// once the handshake is done. Checked before use: Linux, that field, that handle type, and the process's OpenSSL
/// being libssl.so.3 (the one this binds to); anywhere else it does nothing (<see cref="Available"/> false).
/// </summary>
internal static partial class OpenSslBuffers
{
    private const string LibSsl = "libssl.so.3";
    private const int SslCtrlMode = 33; // SSL_CTRL_MODE: SSL_set_mode / SSL_get_mode
    /// <summary><c>SSL_MODE_RELEASE_BUFFERS</c>.</summary>
    public const long ReleaseBuffersMode = 0x10;
    private static readonly FieldInfo? s_securityContext = OperatingSystem.IsLinux()
        ? typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic)
        : null;

    private static readonly Lazy<bool> s_libSslLoaded = new(() => File.Exists("/proc/self/maps") && File.ReadLines("/proc/self/maps").Any(l => l.Contains("/" + LibSsl, StringComparison.Ordinal)));

    /// <summary>True when this runtime's SslStream has the handle this reads (the OpenSSL check is made at first use).</summary>
    public static bool Available => s_securityContext is not null;

    /// <summary>
    /// Sets <c>SSL_MODE_RELEASE_BUFFERS</c> on the connection of <paramref name="stream"/> (a server stream whose handshake
    /// is done); returns the connection's OpenSSL mode afterwards, or null when it cannot be reached here.
    /// </summary>
    public static long? ReleaseWhenIdle(SslStream stream)
    {
        if (Handle(stream) is not { } ssl)
        {
            return null;
        }

        bool added = false;
        try
        {
            ssl.DangerousAddRef(ref added); // the SSL* lives while the reference is held, whatever the connection does meanwhile
            return SslCtrl(ssl.DangerousGetHandle(), SslCtrlMode, ReleaseBuffersMode, IntPtr.Zero);
        }
        catch (ObjectDisposedException)
        {
            return null; // the connection is gone already
        }
        finally
        {
            if (added)
            {
                ssl.DangerousRelease();
            }
        }
    }

    private static SafeHandle? Handle(SslStream stream) =>
        s_securityContext?.GetValue(stream) is SafeHandle { IsInvalid: false, IsClosed: false } handle
        && handle.GetType().FullName == "Microsoft.Win32.SafeHandles.SafeSslHandle"
        && s_libSslLoaded.Value
            ? handle
            : null;

    [LibraryImport(LibSsl, EntryPoint = "SSL_ctrl")]
    private static partial long SslCtrl(IntPtr ssl, int cmd, long larg, IntPtr parg);
}
