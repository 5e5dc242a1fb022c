#!/usr/bin/env bash
# Installs HAProxy (Debian package) for the steering tests and the gateway bench when it is missing and we are root.
# The system service the package enables is kept from starting and disabled: HAProxy runs only from the tests.
set -uo pipefail
. "$(dirname "$0")/apt-install.sh"
if command -v haproxy >/dev/null 2>&1; then exit 0; fi
apt_install install-haproxy haproxy haproxy >&2 || echo "install-haproxy: the HAProxy steering tests will be skipped (under CI=true they fail)" >&2
exit 0
