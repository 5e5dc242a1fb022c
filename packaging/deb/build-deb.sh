#!/usr/bin/env bash
# Builds the relay-gateway Debian package with dpkg-deb from a publish folder (scripts/publish.sh calls it):
#   bash packaging/deb/build-deb.sh OUT VERSION   → OUT/relay-gateway_VERSION_amd64.deb
# OUT/gateway-linux-x64 (self-contained) goes to /opt/relay/gateway; OUT/cli-linux-x64, when published (the relay
# CLI, tools/Relay.Cli), to /opt/relay/cli with /usr/bin/relay. Config /etc/relay/gateway.json (conffile), unit
# /lib/systemd/system/relay-gateway.service, the WireGuard drop-in in /usr/share/relay/systemd/.
# DEB_XZ_LEVEL (0-9, default 6: dpkg-deb's own) trades size for time; measured on 2 vCPU (gateway + CLI, 229 MB
# unpacked): 6 → 75.7 MB in 64 s, 3 → 82.6 MB in 36 s, 1 → 85.2 MB in 15 s. The packaging tests use 1.
set -euo pipefail
OUT=${1:?usage: build-deb.sh OUT VERSION}
VERSION=${2:?usage: build-deb.sh OUT VERSION}
LEVEL=${DEB_XZ_LEVEL:-6}
[[ "$LEVEL" =~ ^[0-9]$ ]] || { echo "build-deb: DEB_XZ_LEVEL must be 0-9; was '$LEVEL'" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ -x "$OUT/gateway-linux-x64/Relay.Gateway" ] || { echo "build-deb: no published gateway at $OUT/gateway-linux-x64" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb is required (apt-get install dpkg)" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ROOTFS=$STAGE/relay-gateway
install -d -m 0755 "$ROOTFS/DEBIAN" "$ROOTFS/opt/relay" "$ROOTFS/etc/relay" "$ROOTFS/lib/systemd/system" \
  "$ROOTFS/usr/share/relay/systemd" "$ROOTFS/usr/share/doc/relay-gateway"
cp -a "$OUT/gateway-linux-x64" "$ROOTFS/opt/relay/gateway"
if [ -d "$OUT/cli-linux-x64" ]; then
  cp -a "$OUT/cli-linux-x64" "$ROOTFS/opt/relay/cli"
  install -d -m 0755 "$ROOTFS/usr/bin"
  ln -s /opt/relay/cli/relay "$ROOTFS/usr/bin/relay"
fi
# root-owned, no write bits for others, executables kept executable
chmod -R u+rwX,go+rX,go-w "$ROOTFS/opt/relay"
install -m 0640 "$HERE/gateway.json" "$ROOTFS/etc/relay/gateway.json"
install -m 0644 "$REPO/packaging/systemd/relay-gateway.service" "$ROOTFS/lib/systemd/system/relay-gateway.service"
install -m 0644 "$REPO/packaging/systemd/wireguard.conf" "$ROOTFS/usr/share/relay/systemd/wireguard.conf"
install -m 0755 "$REPO/packaging/systemd/migrate-wireguard-dropin.sh" "$ROOTFS/usr/share/relay/systemd/migrate-wireguard-dropin.sh"
cat >"$ROOTFS/usr/share/doc/relay-gateway/README" <<DOC
Relay gateway $VERSION. Install and first start: the "Install a relay (Debian)" section of the project's README.
  relay init > /etc/relay/gateway.json; relay check /etc/relay/gateway.json; systemctl enable --now relay-gateway
WireGuard managed by the gateway: /usr/share/relay/systemd/wireguard.conf (a drop-in, see its comments).
DOC
for script in postinst prerm postrm; do
  install -m 0755 "$HERE/$script" "$ROOTFS/DEBIAN/$script"
done
echo /etc/relay/gateway.json >"$ROOTFS/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$ROOTFS" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$size/" "$HERE/control.in" >"$ROOTFS/DEBIAN/control"
deb=$OUT/relay-gateway_${VERSION}_amd64.deb
dpkg-deb --root-owner-group -Zxz -z"$LEVEL" --build "$ROOTFS" "$deb" >/dev/null
echo "build-deb: $deb"
