#!/usr/bin/env bash
# Installs Redis 7 (Debian redis-server) for the core-sim cluster tests and bench (issue 20) when it is missing and we
# are root. Idempotent. The tests start their own redis-server on a free loopback port with its own temp dir; the
# system service the package enables is stopped and disabled (never used).
set -uo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-redis: not root; the cluster tests need redis-server (apt-get install redis-server); under CI=true they fail" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq redis-server >/dev/null 2>&1 || echo "install-redis: apt-get install redis-server failed; the cluster tests will report it" >&2
systemctl disable --now redis-server >/dev/null 2>&1 || true
exit 0
