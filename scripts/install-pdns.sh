#!/usr/bin/env bash
# Installs what the regions (DNS steering) tests and operators need: PowerDNS Authoritative with the bind backend
# (pdns-server, pdns-backend-bind: LUA records are built in) and dig (bind9-dnsutils).
# Idempotent: installs only what is missing. Never fails: without root (or without apt-get) it prints what is
# missing, and the PowerDNS tests skip with the same message. The package's system service "pdns" (port 53) is kept
# from starting and disabled: this machine runs PowerDNS only from the tests (operators: docs/regions.md).
set -u
. "$(dirname "$0")/apt-install.sh"
missing=()
command -v pdns_server >/dev/null 2>&1 || [ -x /usr/sbin/pdns_server ] || missing+=(pdns-server)
[ -e /usr/lib/x86_64-linux-gnu/pdns/libbindbackend.so ] || compgen -G '/usr/lib/*/pdns/libbindbackend.so' >/dev/null || missing+=(pdns-backend-bind)
command -v dig >/dev/null 2>&1 || missing+=(bind9-dnsutils)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-pdns: pdns_server, the bind backend and dig are present"
  exit 0
fi
apt_install install-pdns pdns "${missing[@]}" || echo "install-pdns: the PowerDNS tests will skip"
exit 0
