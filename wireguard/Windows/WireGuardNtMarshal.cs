using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Relay.WireGuard.Config;
using Relay.WireGuard.Devices;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Windows;

/// <summary>
/// Converts between <see cref="WireGuardConfig"/> and WireGuardNT's flat buffer: one WIREGUARD_INTERFACE,
/// then for each peer one WIREGUARD_PEER followed by its WIREGUARD_ALLOWED_IPs. Pure managed code, so it is
/// tested on every platform.
/// </summary>
internal static unsafe class WireGuardNtMarshal
{
    public static readonly int InterfaceSize = Unsafe.SizeOf<WireGuardInterface>();
    public static readonly int PeerSize = Unsafe.SizeOf<WireGuardPeer>();
    public static readonly int AllowedIpSize = Unsafe.SizeOf<WireGuardAllowedIp>();

    /// <summary>The buffer for WireGuardSetConfiguration: replaces peers and each peer's allowed IPs. Endpoints must be IP literals.</summary>
    public static byte[] Build(WireGuardConfig config)
    {
        int size = InterfaceSize + config.Peers.Sum(p => PeerSize + (p.AllowedIps.Count * AllowedIpSize));
        var buffer = new byte[size];
        fixed (byte* start = buffer)
        {
            var iface = (WireGuardInterface*)start;
            iface->Flags = WireGuardInterfaceFlags.HasPrivateKey | WireGuardInterfaceFlags.ReplacePeers;
            config.Interface.PrivateKey.CopyTo(new Span<byte>(iface->PrivateKey, 32));
            if (config.Interface.ListenPort is int port)
            {
                iface->Flags |= WireGuardInterfaceFlags.HasListenPort;
                iface->ListenPort = (ushort)port;
            }

            iface->PeersCount = (uint)config.Peers.Count;
            byte* cursor = start + InterfaceSize;
            foreach (var peerConfig in config.Peers)
            {
                var peer = (WireGuardPeer*)cursor;
                peer->Flags = WireGuardPeerFlags.HasPublicKey | WireGuardPeerFlags.ReplaceAllowedIps | WireGuardPeerFlags.HasPersistentKeepalive;
                peerConfig.PublicKey.CopyTo(new Span<byte>(peer->PublicKey, 32));
                if (peerConfig.PresharedKey is not null)
                {
                    peer->Flags |= WireGuardPeerFlags.HasPresharedKey;
                    peerConfig.PresharedKey.CopyTo(new Span<byte>(peer->PresharedKey, 32));
                }

                peer->PersistentKeepalive = (ushort)(peerConfig.PersistentKeepalive ?? 0);
                if (peerConfig.Endpoint is not null)
                {
                    peer->Flags |= WireGuardPeerFlags.HasEndpoint;
                    WriteEndpoint(&peer->Endpoint, IPEndPoint.Parse(peerConfig.Endpoint));
                }

                peer->AllowedIpsCount = (uint)peerConfig.AllowedIps.Count;
                cursor += PeerSize;
                foreach (var cidr in peerConfig.AllowedIps)
                {
                    var allowed = (WireGuardAllowedIp*)cursor;
                    bool v4 = cidr.Address.AddressFamily == AddressFamily.InterNetwork;
                    allowed->AddressFamily = v4 ? SockAddrInet.AfInet : SockAddrInet.AfInet6;
                    allowed->Cidr = (byte)cidr.PrefixLength;
                    cidr.Address.TryWriteBytes(new Span<byte>(allowed->Address, 16), out _);
                    cursor += AllowedIpSize;
                }
            }
        }

        return buffer;
    }

    /// <summary>Reads a buffer filled by WireGuardGetConfiguration. Throws <see cref="FormatException"/> when it is shorter than its counts say.</summary>
    public static DeviceState Parse(string name, ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < InterfaceSize)
        {
            throw new FormatException("WireGuardNT configuration shorter than WIREGUARD_INTERFACE");
        }

        var iface = MemoryMarshal.Read<WireGuardInterface>(buffer);
        WireGuardKey? publicKey = (iface.Flags & WireGuardInterfaceFlags.HasPublicKey) != 0 ? WireGuardKey.FromBytes(new ReadOnlySpan<byte>(iface.PublicKey, 32)) : null;
        int offset = InterfaceSize;
        var peers = new List<PeerState>((int)Math.Min(iface.PeersCount, 1024));
        for (uint p = 0; p < iface.PeersCount; p++)
        {
            if (buffer.Length < offset + PeerSize)
            {
                throw new FormatException("WireGuardNT configuration truncated in a WIREGUARD_PEER");
            }

            var peer = MemoryMarshal.Read<WireGuardPeer>(buffer[offset..]);
            offset += PeerSize;
            var allowed = new List<string>();
            for (uint a = 0; a < peer.AllowedIpsCount; a++)
            {
                if (buffer.Length < offset + AllowedIpSize)
                {
                    throw new FormatException("WireGuardNT configuration truncated in a WIREGUARD_ALLOWED_IP");
                }

                var ip = MemoryMarshal.Read<WireGuardAllowedIp>(buffer[offset..]);
                offset += AllowedIpSize;
                var address = ip.AddressFamily == SockAddrInet.AfInet ? new IPAddress(new ReadOnlySpan<byte>(ip.Address, 4)) : new IPAddress(new ReadOnlySpan<byte>(ip.Address, 16));
                allowed.Add($"{address}/{ip.Cidr}");
            }

            string? endpoint = (peer.Flags & WireGuardPeerFlags.HasEndpoint) != 0 ? ReadEndpoint(&peer.Endpoint)?.ToString() : null;
            DateTimeOffset? handshake = peer.LastHandshake == 0 ? null : DateTimeOffset.FromFileTime((long)peer.LastHandshake);
            peers.Add(new PeerState(WireGuardKey.FromBytes(new ReadOnlySpan<byte>(peer.PublicKey, 32)), endpoint, handshake, (long)peer.RxBytes, (long)peer.TxBytes, peer.PersistentKeepalive, allowed));
        }

        return new DeviceState(name, publicKey, iface.ListenPort, peers);
    }

    internal static void WriteEndpoint(SockAddrInet* target, IPEndPoint endpoint)
    {
        target->PortNetworkOrder = BinaryPrimitives.ReverseEndianness((ushort)endpoint.Port);
        if (!BitConverter.IsLittleEndian)
        {
            target->PortNetworkOrder = (ushort)endpoint.Port;
        }

        if (endpoint.AddressFamily == AddressFamily.InterNetwork)
        {
            target->Family = SockAddrInet.AfInet;
            endpoint.Address.TryWriteBytes(new Span<byte>(target->V4Address, 4), out _);
        }
        else
        {
            target->Family = SockAddrInet.AfInet6;
            endpoint.Address.TryWriteBytes(new Span<byte>(target->V6Address, 16), out _);
            target->V6ScopeId = (uint)endpoint.Address.ScopeId;
        }
    }

    internal static IPEndPoint? ReadEndpoint(SockAddrInet* source)
    {
        int port = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(source->PortNetworkOrder) : source->PortNetworkOrder;
        return source->Family switch
        {
            SockAddrInet.AfInet => new IPEndPoint(new IPAddress(new ReadOnlySpan<byte>(source->V4Address, 4)), port),
            SockAddrInet.AfInet6 => new IPEndPoint(new IPAddress(new ReadOnlySpan<byte>(source->V6Address, 16), source->V6ScopeId), port),
            _ => null,
        };
    }
}
