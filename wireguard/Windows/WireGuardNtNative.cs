using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Relay.WireGuard.Windows;

/// <summary>
/// The WireGuardNT entry points of wireguard.dll (signed, from wireguard.com, beside the executable).
/// Handles are WIREGUARD_ADAPTER_HANDLE; BOOL results with GetLastError on failure.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class WireGuardNtNative
{
    private const string Library = "wireguard.dll";

    /// <summary>ERROR_MORE_DATA: WireGuardGetConfiguration needs a bigger buffer (the size is written back).</summary>
    public const int ErrorMoreData = 234;

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf16, SetLastError = true)]
    public static partial IntPtr WireGuardCreateAdapter(string name, string tunnelType, Guid* requestedGuid);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf16, SetLastError = true)]
    public static partial IntPtr WireGuardOpenAdapter(string name);

    [LibraryImport(Library)]
    public static partial void WireGuardCloseAdapter(IntPtr adapter);

    [LibraryImport(Library, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool WireGuardSetConfiguration(IntPtr adapter, byte* config, uint bytes);

    [LibraryImport(Library, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool WireGuardGetConfiguration(IntPtr adapter, byte* config, ref uint bytes);

    [LibraryImport(Library, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool WireGuardSetAdapterState(IntPtr adapter, WireGuardAdapterState state);
}
