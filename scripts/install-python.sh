#!/usr/bin/env bash
# Installs Python 3 (Debian python3) when it is missing and we are root: the regions lab's WAN test runs a listener in
# it and the scripts tests run scripts/bench-interleaved.py (issue 21's bench table). Idempotent.
set -uo pipefail
. "$(dirname "$0")/apt-install.sh"
if command -v python3 >/dev/null 2>&1; then exit 0; fi
apt_install install-python "" python3 >&2 || echo "install-python: the regions lab and scripts tests need python3; under CI=true they fail" >&2
exit 0
