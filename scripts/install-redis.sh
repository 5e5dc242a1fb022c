#!/usr/bin/env bash
# Installs Redis 7 (Debian redis-server) for the core-sim cluster tests and bench (issue 20) when it is missing and we
# are root. Idempotent. The tests start their own redis-server on a free loopback port with its own temp dir; the
# system service the package enables is kept from starting and disabled (never used).
set -uo pipefail
. "$(dirname "$0")/apt-install.sh"
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
apt_install install-redis redis-server redis-server >&2 || echo "install-redis: the cluster tests need redis-server; under CI=true they fail" >&2
exit 0
