#!/usr/bin/env bash
# Installs what the npm ws interop test needs (tests/interop: `npm ci` from package-lock.json).
#   scripts/test-interop.sh          install only (build.sh test calls this before the test projects)
#   scripts/test-interop.sh --run    install, build and run tests/Relay.Interop.Tests
# Without node/npm it says what to install and exits 0: the NUnit test then reports itself ignored, naming the same.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "test-interop: node and npm are needed for the npm ws interop test (Debian/Ubuntu: apt-get install nodejs npm; or https://nodejs.org); skipping the install" >&2
else
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 18 ] || echo "test-interop: node $(node --version) is older than 18; the interop script may fail" >&2
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "${1:-}" = "--run" ]; then
  shift
  dotnet test tests/Relay.Interop.Tests -c "${CONFIG:-Release}" -nologo "$@"
fi
