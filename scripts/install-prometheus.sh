#!/usr/bin/env bash
# Installs promtool (Debian package prometheus, 2.42 on bookworm) for the packaging tests: `promtool check rules` on
# deploy/prometheus/relay-rules.yml and `promtool check metrics` on a live gateway's /metrics.
# Idempotent: installs only what is missing. Never fails: without root (or without apt-get) it prints what is
# missing, and the promtool tests skip with the same message (under CI=true they fail). The package's system service
# "prometheus" (port 9090) is kept from starting and disabled: this machine runs no Prometheus.
set -u
. "$(dirname "$0")/apt-install.sh"
if command -v promtool >/dev/null 2>&1; then
  echo "install-prometheus: promtool is present"
  exit 0
fi
apt_install install-prometheus prometheus prometheus || echo "install-prometheus: the promtool tests will skip"
exit 0
