#!/usr/bin/env bash
# Installs promtool (Debian package prometheus, 2.42 on bookworm) for the packaging tests: `promtool check rules` on
# deploy/prometheus/relay-rules.yml and `promtool check metrics` on a live gateway's /metrics.
# Idempotent: installs only what is missing. Never fails: without root (or without apt-get) it prints what is
# missing, and the promtool tests skip with the same message (under CI=true they fail). The package starts a system
# service "prometheus" on port 9090; this machine runs no Prometheus, so it is kept from starting (policy-rc.d
# while installing) and stopped and disabled after.
set -u
if command -v promtool >/dev/null 2>&1; then
  echo "install-prometheus: promtool is present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-prometheus: missing promtool; as root run: apt-get install -y --no-install-recommends prometheus (the promtool tests will skip)"
  exit 0
fi
echo "install-prometheus: installing prometheus (for promtool)"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: the package may not start its service while it is being installed (removed again on exit).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  trap 'rm -f "$policy"' EXIT
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
fi
log=$(mktemp)
if ! { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus; } >"$log" 2>&1; then
  echo "install-prometheus: apt-get failed; the promtool tests will skip:"
  tail -5 "$log"
fi
rm -f "$log"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  command -v update-rc.d >/dev/null 2>&1 && update-rc.d prometheus disable >/dev/null 2>&1 || true
fi
exit 0
