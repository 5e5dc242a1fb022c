#!/usr/bin/env bash
# Installs nginx (Debian nginx-light) for the gateway bench's reference hops (issue 21, `bench gateway peers`) when it is
# missing and we are root. Idempotent. The bench starts its own nginx in the foreground with its own prefix and config
# in the run's folder; the system service the package enables is kept from starting and disabled (never used).
set -uo pipefail
. "$(dirname "$0")/apt-install.sh"
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
apt_install install-nginx nginx nginx-light >&2 || echo "install-nginx: the bench's nginx hop will be skipped" >&2
exit 0
