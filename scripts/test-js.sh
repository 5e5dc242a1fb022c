#!/usr/bin/env bash
# JavaScript tests: the SDK's unit tests (clients/js, node --test) and the browser tests (tests/browser: Debian
# Chromium headless via playwright-core, real core-sim and gateways). Assumes `dotnet build Relay.sln -c Release`
# has run (tests that need the .NET builds skip with a message otherwise).
# Installs what is missing: chromium (apt, only when root), npm packages (npm ci from the lock files).
# Prints each suite's TAP summary and a closing line:  js-tests: N passed, N failed, N skipped
# Exit code: non-zero when a test failed or a suite could not run. Under CI (CI=true) a skipped test counts as a
# failure (every suite must really run there); elsewhere a skip stays a skip, its reason printed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/artifacts/test-results
mkdir -p "$OUT"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "test-js: node and npm are required (apt-get install nodejs npm; Node 18+)" >&2
  echo "js-tests: 0 passed, 1 failed, 0 skipped"
  exit 1
fi

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-js: installing chromium (apt-get install chromium)…"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$OUT/apt-chromium.log" 2>&1 \
      || echo "test-js: apt-get install chromium failed (see $OUT/apt-chromium.log); the browser tests will skip" >&2
  else
    echo "test-js: /usr/bin/chromium missing and not root: the browser tests will skip (apt-get install chromium)" >&2
  fi
fi

# openssl makes the browser tests' test certificate (the wss listener, wss-http2.test.js).
if ! command -v openssl >/dev/null 2>&1; then
  . scripts/apt-install.sh
  apt_install test-js '' openssl || echo "test-js: without openssl the wss browser test will skip" >&2
fi

install_deps() {
  local dir=$1
  if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$OUT/npm-$(basename "$dir").log" 2>&1 \
    || (cd "$dir" && npm install --no-audit --no-fund --loglevel=error) >>"$OUT/npm-$(basename "$dir").log" 2>&1
}

passed=0; failed=0; skipped=0; rc=0
run_suite() {
  local name=$1 dir=$2; shift 2
  local tap=$OUT/js-$name.tap
  echo "== $name"
  if ! install_deps "$dir"; then
    echo "test-js: npm install failed in $dir (see $OUT/npm-$(basename "$dir").log)" >&2
    failed=$((failed + 1)); rc=1; return
  fi
  (cd "$dir" && timeout 170 node --test --test-reporter=tap "$@") >"$tap" 2>&1
  local code=$?
  grep -E '# SKIP|^# skipping' "$tap" | sed 's/^/  /'
  # Why each failure failed (the YAML block under its "not ok" line), so the CI log alone explains it.
  awk '/^ *not ok /{f=1; print "  " $0; next} f && /^ *\.\.\.$/{f=0} f && /(error|expected|actual|location|failureType):/{print "    " $0}' "$tap"
  grep -E '^# (tests|pass|fail|cancelled|skipped|todo|duration_ms) ' "$tap"
  local p f s c
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -1); f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -1)
  s=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" | tail -1); c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" | tail -1)
  if [ "${CI:-}" = true ] && [ "${s:-0}" -gt 0 ]; then
    echo "test-js: CI=true and $s $name test(s) skipped (listed above); each counts as a failure" >&2
    f=$((${f:-0} + s)); s=0; rc=1
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${c:-0})); skipped=$((skipped + ${s:-0}))
  if [ "$code" -ne 0 ]; then
    rc=1
    if [ "${f:-0}" -eq 0 ] && [ "${c:-0}" -eq 0 ]; then failed=$((failed + 1)); echo "test-js: $name exited $code (see $tap)" >&2; fi
  fi
}

# The generated classic-script build and its C# embedding must match relay-client.js.
if ! node clients/js/scripts/build-global.mjs --check; then
  echo "test-js: relay-client.global.js is stale: node clients/js/scripts/build-global.mjs" >&2
  failed=$((failed + 1)); rc=1
fi

# every test file of the SDK (node 20's --test takes no glob of its own)
mapfile -t sdk_tests < <(cd "$ROOT/clients/js" && ls test/*.test.js)
run_suite sdk "$ROOT/clients/js" --test-concurrency=1 "${sdk_tests[@]}"
# every browser test file too (a list here once left a new file out of the runs)
mapfile -t browser_tests < <(cd "$ROOT/tests/browser" && ls *.test.js)
run_suite browser "$ROOT/tests/browser" --test-concurrency=1 "${browser_tests[@]}"

echo "js-tests: $passed passed, $failed failed, $skipped skipped"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
