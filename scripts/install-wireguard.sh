#!/usr/bin/env bash
# Installs what the WireGuard tests and managed mode need: wireguard-go (userspace device),
# wireguard-tools (wg, for the kernel-module backend and for operators) and iproute2 (ip, tc).
# Idempotent: installs only what is missing. Never fails: without root (or without apt-get)
# it prints what is missing, and the WireGuard end-to-end tests skip with the same message.
set -u
. "$(dirname "$0")/apt-install.sh"
missing=()
command -v wireguard-go >/dev/null 2>&1 || missing+=(wireguard-go)
command -v wg >/dev/null 2>&1 || missing+=(wireguard-tools)
{ command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1; } || missing+=(iproute2)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-wireguard: wireguard-go, wg, ip and tc are present"
  exit 0
fi
apt_install install-wireguard "" "${missing[@]}" || echo "install-wireguard: the WireGuard end-to-end tests will skip"
exit 0
