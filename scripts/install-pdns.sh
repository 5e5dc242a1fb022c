#!/usr/bin/env bash
# Installs what the regions (DNS steering) tests and operators need: PowerDNS Authoritative with the bind backend
# (pdns-server, pdns-backend-bind: LUA records are built in) and dig (bind9-dnsutils).
# Idempotent: installs only what is missing. Never fails: without root (or without apt-get) it prints what is
# missing, and the PowerDNS tests skip with the same message. The package starts a system service "pdns" on
# port 53; this machine runs PowerDNS only from the tests (and an operator from their own unit), so it is stopped
# and disabled, with systemctl when it runs here, else with the package's init script.
set -u
missing=()
command -v pdns_server >/dev/null 2>&1 || [ -x /usr/sbin/pdns_server ] || missing+=(pdns-server)
[ -e /usr/lib/x86_64-linux-gnu/pdns/libbindbackend.so ] || compgen -G '/usr/lib/*/pdns/libbindbackend.so' >/dev/null || missing+=(pdns-backend-bind)
command -v dig >/dev/null 2>&1 || missing+=(bind9-dnsutils)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-pdns: pdns_server, the bind backend and dig are present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-pdns: missing ${missing[*]}; as root run: apt-get install -y ${missing[*]} (the PowerDNS tests will skip)"
  exit 0
fi
echo "install-pdns: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: the package may not start its service while it is being installed (removed again on exit).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  trap 'rm -f "$policy"' EXIT
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
fi
log=$(mktemp)
if ! { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "install-pdns: apt-get failed; the PowerDNS tests will skip:"
  tail -5 "$log"
fi
rm -f "$log"
# If the service runs anyway (an existing policy-rc.d allowed it, or it was installed before), stop and disable it:
# this machine runs PowerDNS only from the tests (operators: docs/regions.md).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now pdns >/dev/null 2>&1 || true
elif [ -x /etc/init.d/pdns ]; then
  /etc/init.d/pdns stop >/dev/null 2>&1 || true
  command -v update-rc.d >/dev/null 2>&1 && update-rc.d pdns disable >/dev/null 2>&1 || true
fi
exit 0
