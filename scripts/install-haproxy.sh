#!/usr/bin/env bash
# Installs HAProxy (Debian package) for the steering tests when it is missing and we are root.
set -uo pipefail
if command -v haproxy >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-haproxy: not root; the HAProxy steering tests will be skipped (apt-get install haproxy)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq haproxy >/dev/null 2>&1 || echo "install-haproxy: apt-get install haproxy failed; the steering tests will be skipped" >&2
# The package enables a service; this machine runs HAProxy only from the tests.
systemctl disable --now haproxy >/dev/null 2>&1 || true
exit 0
