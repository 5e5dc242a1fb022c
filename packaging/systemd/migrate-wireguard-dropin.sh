#!/bin/sh
# Run by the package's postinst. Until 2026-12-05 the WireGuard drop-in had RuntimeDirectory=wireguard (with
# RuntimeDirectoryPreserve=yes): at each start systemd gave the host's /run/wireguard, and every wireguard-go socket in
# it, to the relay user, who could then read another tunnel's private key over its socket. Operators copy the drop-in
# into /etc, so an upgrade alone does not fix it: a copy with that line is replaced by the shipped one (the old kept
# beside it as .dpkg-old), and the host's folder is given back to root.
# Usage: migrate-wireguard-dropin.sh [DROPIN] [RUN_WIREGUARD] [SHIPPED] [SERVICE_USER] (the defaults are the real paths).
set -e
dropin=${1:-/etc/systemd/system/relay-gateway.service.d/wireguard.conf}
run=${2:-/run/wireguard}
shipped=${3:-/usr/share/relay/systemd/wireguard.conf}
user=${4:-relay}
if [ -f "$dropin" ] && grep -qx 'RuntimeDirectory=wireguard' "$dropin"; then
  cp -p "$dropin" "$dropin.dpkg-old"
  cp "$shipped" "$dropin.dpkg-new"
  chmod 0644 "$dropin.dpkg-new"
  mv -f "$dropin.dpkg-new" "$dropin"
  echo "relay-gateway: replaced $dropin: its RuntimeDirectory=wireguard gave the host's /run/wireguard to the relay user (the old one is $dropin.dpkg-old)" >&2
fi
if [ -d "$run" ] && [ "$(stat -c %U "$run")" = "$user" ]; then
  chown root:root "$run"
  chmod 0755 "$run"
  echo "relay-gateway: $run given back to root; any socket in it still owned by $user belongs to a tunnel the old drop-in exposed: restart that tunnel (or reboot)" >&2
fi
exit 0
