#!/usr/bin/env bash
# Relay build script. Verbs: build | test | results | run | bench | load | publish | help (./build.sh help lists them)
#   ./build.sh run     start core-sim and one gateway on this machine
#   ./build.sh test    install what the tests need, run every test, print "tests: N passed, N failed, N skipped"
#   ./build.sh bench   BenchmarkDotNet codec benchmarks and the loopback throughput run
#   ./build.sh bench gateway [PARTS]  gateway vs direct, nginx and HAProxy on loopback (parts: steady fixed storm idle failover peers rounds interleaved)
#   ./build.sh bench attack   legitimate sessions through a gateway without and with a connection flood (issue 16)
#   ./build.sh bench regions  the regions lab (issue 17): per region direct vs relay vs negotiate, region loss (DNS, resumes), drain (as root)
#   ./build.sh bench cluster  core-sim cluster on Redis vs one in-memory node; a node's SIGKILL under load (issue 20)
set -euo pipefail
CALLER=$PWD # load: relative paths (--out, --ready-file) are the caller's
cd "$(dirname "$0")"
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
CONFIG=${CONFIG:-Release}

need_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "build.sh: the .NET 10 SDK is required (https://dot.net); 'dotnet' is not on PATH" >&2
    exit 2
  fi
}

build() {
  need_dotnet
  dotnet build Relay.sln -c "$CONFIG" -nologo -v quiet "$@"
}

count_results() {
  # Sums the counters of every TRX file: the real results, not dotnet test's summary. A test that did not run
  # (ignored, inconclusive, skipped: outcome NotExecuted) is listed with its reason on stderr; under CI (CI=true)
  # it counts as a failure, so a suite that quietly skipped (no root, a missing tool) cannot pass there.
  local dir=$1 passed=0 failed=0 total=0 f
  for f in "$dir"/*.trx; do
    [ -f "$f" ] || continue
    local c
    c=$(grep -o '<Counters [^>]*>' "$f" | head -1)
    local t p fl er to ab
    t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$c"); p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$c")
    fl=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$c"); er=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$c")
    to=$(sed -n 's/.* timeout="\([0-9]*\)".*/\1/p' <<<"$c"); ab=$(sed -n 's/.* aborted="\([0-9]*\)".*/\1/p' <<<"$c")
    total=$((total + ${t:-0})); passed=$((passed + ${p:-0}))
    failed=$((failed + ${fl:-0} + ${er:-0} + ${to:-0} + ${ab:-0}))
  done
  local skipped=$((total - passed - failed))
  if [ "$skipped" -gt 0 ]; then
    if [ "${CI:-}" = true ]; then
      echo "build.sh: CI=true and $skipped test(s) did not run; each counts as a failure:" >&2
      failed=$((failed + skipped)); skipped=0
    else
      echo "build.sh: $skipped test(s) skipped:" >&2
    fi
    not_run_tests "$dir" >&2
  fi
  echo "$passed $failed $skipped"
}

not_run_tests() {
  # "  Project: Test — reason" for every TRX result that neither passed nor failed (NotExecuted, Inconclusive…).
  trx_results "$1" notrun
}

failed_tests() {
  # "  Project: Test — message" for every TRX result that failed, errored, timed out or aborted.
  trx_results "$1" failed
}

trx_results() {
  local f
  for f in "$1"/*.trx; do
    [ -f "$f" ] || continue
    awk -v project="$(basename "$f" .trx)" -v mode="$2" '
      function unescape(s) { gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&quot;/, "\"", s); gsub(/&apos;/, "\047", s); gsub(/&amp;/, "\\&", s); return s }
      function report() { gsub(/[[:space:]]+/, " ", msg); sub(/ $/, "", msg); printf "  %s: %s — %s\n", project, unescape(name), (msg == "" ? "(no reason given)" : unescape(msg)); open = 0 }
      /<UnitTestResult / {
        name = $0; sub(/.* testName="/, "", name); sub(/".*/, "", name)
        outcome = $0; sub(/.* outcome="/, "", outcome); sub(/".*/, "", outcome)
        open = (mode == "failed") ? outcome ~ /^(Failed|Error|Timeout|Aborted)$/ : outcome !~ /^(Passed|Failed|Error|Timeout|Aborted)$/
        msg = ""; inmsg = 0
        if (open && $0 ~ /\/>[[:space:]]*$/) report()
        next
      }
      open && /<Message>/ { inmsg = 1; sub(/.*<Message>/, "") }
      open && inmsg { line = $0; if (sub(/<\/Message>.*/, "", line)) inmsg = 0; gsub(/^[[:space:]]+/, "", line); msg = (msg == "" ? line : msg " " line); next }
      open && /<\/UnitTestResult>/ { report() }
    ' "$f"
  done
}

install_test_prerequisites() {
  # Real parts for the end-to-end tests (Debian packages; root only; each script says what it skips).
  bash scripts/install-haproxy.sh
  bash scripts/install-wireguard.sh
  bash scripts/install-pdns.sh
  bash scripts/install-prometheus.sh
  bash scripts/install-pwsh.sh >/dev/null || echo "build.sh: installing PowerShell failed; the build.ps1 tests will report it" >&2
  bash scripts/install-redis.sh
  bash scripts/install-python.sh
  bash scripts/test-interop.sh || echo "build.sh: npm ci for tests/interop failed; the interop test will report it" >&2
  return 0
}

bench_cluster() {
  # Issue 20: one in-memory core-sim vs a node of a three-node cluster on Redis (per delivery: node and broker CPU,
  # p99), then a node's SIGKILL through a gateway linked to all three (time until 99 % of its sessions resumed).
  bash scripts/install-redis.sh
  dotnet build tools/Relay.ClusterBench -c Release -nologo -v quiet || return 1
  dotnet tools/Relay.ClusterBench/bin/Release/net10.0/Relay.ClusterBench.dll cluster "$@"
}

test_all() {
  need_dotnet
  install_test_prerequisites
  local results=$ROOT/artifacts/test-results
  rm -rf "$results"; mkdir -p "$results"
  if ! build; then
    echo "build.sh: the build failed; no test ran" >&2
    echo "tests: 0 passed, 1 failed, 0 skipped"
    return 1
  fi
  local rc=0 proj
  for proj in tests/*/*.Tests.csproj; do
    local name; name=$(basename "$proj" .csproj)
    echo "== $name"
    dotnet test "$proj" -c "$CONFIG" --no-build -nologo \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
      --results-directory "$results" --blame-hang-timeout 5m "$@" || rc=1
  done
  # JavaScript: the SDK's node tests and the Chromium browser tests (their own closing line).
  bash scripts/test-js.sh 2>&1 | tee "$results/js-tests.log" || rc=1
  summarize_results "$results" "$rc"
}

summarize_results() {
  # DIR [RC]: the closing lines of a test run from DIR's TRX files and js-tests.log: the failed tests (when any), then
  # "tests: N passed, N failed, N skipped". RC non-zero (a suite's command failed) is never a pass.
  local results=$1 rc=${2:-0} passed failed skipped js_log=$1/js-tests.log js_line jp jf js
  [ -d "$results" ] || { echo "build.sh: results: no folder $results" >&2; return 2; }
  read -r passed failed skipped < <(count_results "$results")
  js_line=$(grep -sE '^js-tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$js_log" | tail -1) || true
  if [ -n "$js_line" ]; then
    read -r jp jf js < <(sed -E 's/^js-tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/' <<<"$js_line")
    passed=$((passed + jp)); failed=$((failed + jf)); skipped=$((skipped + js))
  else
    echo "build.sh: no closing line from the JavaScript tests in $js_log" >&2
    failed=$((failed + 1))
  fi
  local crashed=
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    # a test host crashed or a project did not run: count that as a failure, never as a pass
    failed=1; crashed=1
  fi
  if [ "$failed" -gt 0 ]; then
    # the names right above the closing line, so a CI log's tail says which tests failed
    echo "failed tests:"
    [ -z "$crashed" ] || echo "  (no failed result: a test host crashed or a suite did not run; see its output above)"
    failed_tests "$results" | cut -c1-600
    grep -sE '^ *not ok ' "$js_log" | sed -E 's/^ */  js: /' || true
  fi
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

publish() {
  # issue 19: self-contained, versioned artifacts (gateway, core-sim, the relay CLI when it exists; linux-x64 and
  # win-x64), archives, the relay-gateway .deb and SHA256SUMS in artifacts/publish/<version>/ (scripts/publish.sh).
  need_dotnet
  bash "$ROOT/scripts/publish.sh" "$@"
}

usage() {
  cat <<'USAGE'
usage: ./build.sh VERB [args]
  build                 build every project (Release; CONFIG=Debug for debug)
  test                  install what the tests need, run every test suite, print "tests: N passed, N failed, N skipped"
  results DIR           a finished run's closing lines from its TRX folder (artifacts/test-results): failed tests, counts
  run                   start core-sim and one gateway on this machine and print URLs, keys and tokens (Ctrl-C stops)
  load SCENARIO [args]  the load generator against a running Relay (scenarios: ./build.sh load --help)
  bench                 BenchmarkDotNet codec benchmarks (bench codec|throughput: the same tool's other runs)
  bench gateway         gateway vs direct-to-core on loopback, nginx and HAProxy side by side (parts: steady fixed storm idle failover peers rounds interleaved)
  bench steering        sessions moved by a drain through HAProxy
  bench wan             a session over a userspace WAN delay line, through the relay vs direct
  bench attack          legitimate sessions through a gateway without and with a connection flood (issue 16)
  bench cluster         core-sim on Redis vs in memory (CPU, p99 per message); a node's SIGKILL: time until 99 % resumed (issue 20)
  bench regions         the regions lab: per region direct vs relay vs negotiate, region loss (DNS answers, resumes), drain (issue 17)
  publish               self-contained, versioned gateway/core-sim/CLI builds (linux-x64, win-x64), archives, the .deb, SHA256SUMS
  help                  this list
USAGE
}

case "${1:-}" in
  build) shift; build "$@" ;;
  test) shift; test_all "$@" ;;
  results) shift; [ $# -eq 1 ] || { echo "usage: ./build.sh results DIR (a test run's folder, e.g. artifacts/test-results)" >&2; exit 2; }
    summarize_results "$1"; exit $? ;;
  bench)
    shift; need_dotnet
    case "${1:-}" in
      gateway) shift; exec "$ROOT/scripts/bench-gateway.sh" "$@" ;;
      steering) shift; dotnet build Relay.sln -c Release -nologo -v quiet && exec dotnet run -c Release --no-build --project tools/Relay.SteeringBench -- "$@" ;;
      attack) shift; ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
        dotnet build Relay.sln -c Release -nologo -v quiet && exec dotnet tools/Relay.AttackBench/bin/Release/net10.0/Relay.AttackBench.dll "$@" ;;
      cluster) shift; bench_cluster "$@"; exit $? ;;
      wan) shift; dotnet build Relay.sln -c Release -nologo -v quiet && exec dotnet tools/Relay.WanBench/bin/Release/net10.0/Relay.WanBench.dll "$@" ;;
      regions) shift; bash scripts/install-wireguard.sh; bash scripts/install-pdns.sh
        dotnet build Relay.sln -c Release -nologo -v quiet && exec dotnet tools/Relay.RegionsBench/bin/Release/net10.0/Relay.RegionsBench.dll "$@" ;;
      *) dotnet run -c Release --project bench/Relay.Benchmarks -- "$@" ;;
    esac ;;
  load) shift; need_dotnet; cd "$CALLER" && exec "$ROOT/scripts/load.sh" "$@" ;;
  publish) shift; publish "$@" ;;
  run) shift; need_dotnet; exec "$ROOT/scripts/run.sh" "$@" ;;
  help|-h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
