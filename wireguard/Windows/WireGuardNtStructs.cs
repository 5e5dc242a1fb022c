using System.Runtime.InteropServices;

namespace Relay.WireGuard.Windows;

// The documented WireGuardNT layouts (wireguard-nt api/wireguard.h), all ALIGNED(8) on x64.
// Explicit offsets so the layout is the C compiler's on every platform this compiles on; the unit
// tests check Marshal.SizeOf/OffsetOf against the C numbers.

/// <summary>WIREGUARD_INTERFACE_FLAG.</summary>
[Flags]
internal enum WireGuardInterfaceFlags : uint
{
    None = 0,
    HasPublicKey = 1 << 0,
    HasPrivateKey = 1 << 1,
    HasListenPort = 1 << 2,
    ReplacePeers = 1 << 3,
}

/// <summary>WIREGUARD_PEER_FLAG.</summary>
[Flags]
internal enum WireGuardPeerFlags : uint
{
    None = 0,
    HasPublicKey = 1 << 0,
    HasPresharedKey = 1 << 1,
    HasPersistentKeepalive = 1 << 2,
    HasEndpoint = 1 << 3,
    ReplaceAllowedIps = 1 << 5,
    Remove = 1 << 6,
    Update = 1 << 7,
}

/// <summary>WIREGUARD_ADAPTER_STATE.</summary>
internal enum WireGuardAdapterState
{
    Down = 0,
    Up = 1,
}

/// <summary>
/// WIREGUARD_INTERFACE: Flags (DWORD) @0, ListenPort (WORD) @4, PrivateKey[32] @6, PublicKey[32] @38,
/// PeersCount (DWORD) @72; size 80 (ALIGNED(8)). Followed in the buffer by PeersCount peers.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 80, Pack = 8)]
internal unsafe struct WireGuardInterface
{
    [FieldOffset(0)] public WireGuardInterfaceFlags Flags;
    [FieldOffset(4)] public ushort ListenPort;
    [FieldOffset(6)] public fixed byte PrivateKey[32];
    [FieldOffset(38)] public fixed byte PublicKey[32];
    [FieldOffset(72)] public uint PeersCount;
}

/// <summary>
/// WIREGUARD_PEER: Flags @0, Reserved @4, PublicKey[32] @8, PresharedKey[32] @40, PersistentKeepalive (WORD) @72,
/// Endpoint (SOCKADDR_INET, 28 bytes, 4-aligned) @76, TxBytes @104, RxBytes @112, LastHandshake (FILETIME ticks) @120,
/// AllowedIPsCount @128; size 136 (ALIGNED(8)). Followed in the buffer by AllowedIPsCount allowed IPs.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 136, Pack = 8)]
internal unsafe struct WireGuardPeer
{
    [FieldOffset(0)] public WireGuardPeerFlags Flags;
    [FieldOffset(4)] public uint Reserved;
    [FieldOffset(8)] public fixed byte PublicKey[32];
    [FieldOffset(40)] public fixed byte PresharedKey[32];
    [FieldOffset(72)] public ushort PersistentKeepalive;
    [FieldOffset(76)] public SockAddrInet Endpoint;
    [FieldOffset(104)] public ulong TxBytes;
    [FieldOffset(112)] public ulong RxBytes;
    [FieldOffset(120)] public ulong LastHandshake;
    [FieldOffset(128)] public uint AllowedIpsCount;
}

/// <summary>
/// WIREGUARD_ALLOWED_IP: Address (union IN_ADDR / IN6_ADDR, 16 bytes) @0, AddressFamily (ADDRESS_FAMILY, USHORT) @16,
/// Cidr (BYTE) @18; size 24 (ALIGNED(8)).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 24, Pack = 8)]
internal unsafe struct WireGuardAllowedIp
{
    [FieldOffset(0)] public fixed byte Address[16];
    [FieldOffset(16)] public ushort AddressFamily;
    [FieldOffset(18)] public byte Cidr;
}

/// <summary>
/// SOCKADDR_INET: union of SOCKADDR_IN (family @0, port big-endian @2, address @4) and SOCKADDR_IN6 (family @0,
/// port @2, flowinfo @4, address[16] @8, scope id @24); size 28.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 28, Pack = 4)]
internal unsafe struct SockAddrInet
{
    public const ushort AfInet = 2;
    public const ushort AfInet6 = 23;

    [FieldOffset(0)] public ushort Family;
    [FieldOffset(2)] public ushort PortNetworkOrder;
    [FieldOffset(4)] public fixed byte V4Address[4];
    [FieldOffset(4)] public uint V6FlowInfo;
    [FieldOffset(8)] public fixed byte V6Address[16];
    [FieldOffset(24)] public uint V6ScopeId;
}
