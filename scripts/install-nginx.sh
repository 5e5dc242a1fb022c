#!/usr/bin/env bash
# Installs nginx (Debian nginx-light) for the gateway bench's reference hops (issue 21, `bench gateway peers`) when it is
# missing and we are root. Idempotent. The bench starts its own nginx in the foreground with its own prefix and config
# in the run's folder; the system service the package enables is stopped and disabled (never used).
set -uo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-nginx: not root; the bench's nginx hop will be skipped (apt-get install nginx-light)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq nginx-light >/dev/null 2>&1 || echo "install-nginx: apt-get install nginx-light failed; the bench's nginx hop will be skipped" >&2
# The package enables (and starts) a service on port 80; this machine runs nginx only from the bench.
systemctl disable --now nginx >/dev/null 2>&1 || true
exit 0
