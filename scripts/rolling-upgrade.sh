#!/usr/bin/env bash
# Rolling upgrade of a region's relays (gateways) behind HAProxy, one relay at a time:
#   drain (POST /admin/drain) → wait until its sessions have moved (/status sessions 0, or --drain-timeout) →
#   stop (SIGTERM, wait, SIGKILL after --stop-timeout) → install the new version → start → wait for /readyz 200 →
#   undrain (POST /admin/undrain) → next relay. A new version that does not get ready is rolled back (the previous
#   release started again; with UNIT= and a .deb, the previous package installed again with dpkg -i) and the rollout
#   stops with exit 1; the relays not yet upgraded are left untouched.
# HAProxy needs nothing from this script: a draining relay answers /readyz 503 and its agent port "drain", so HAProxy
# stops sending it new sessions, and the sessions closed with 4001 reconnect (and resume) through another relay.
#
#   scripts/rolling-upgrade.sh [options] NEW RELAY_DIR...   upgrade every relay, in the order given
#   scripts/rolling-upgrade.sh start RELAY_DIR...           start the current release of each relay (not running yet)
#   scripts/rolling-upgrade.sh stop RELAY_DIR...            SIGTERM each relay, wait, SIGKILL after --stop-timeout
#
# NEW: a folder of gateway binaries (a `publish` output, e.g. artifacts/publish/<version>/gateway-linux-x64, or a
# build output folder), or a .deb of the gateway (with UNIT=: dpkg -i; otherwise its binary folder is unpacked into
# the relay's releases/ with dpkg-deb -x).
#
# Which mode: a relay installed from the relay-gateway package runs /opt/relay/gateway under relay-gateway.service;
# upgrade it with UNIT=relay-gateway and the .deb (the rollback is the installed version's .deb: one this script
# installed, kept in releases/, or one in releases/ or /var/cache/apt/archives). A folder NEW only changes what
# RELAY_DIR/current holds: without UNIT= the relay must be the gateway this script started from that folder
# (gateway.pid), with UNIT= the unit must run RELAY_DIR/current; anything else is refused before any relay is drained.
#
# RELAY_DIR: one relay's folder on this machine:
#   relay.env        KEY=VALUE lines: URL=http://127.0.0.1:8080 (the gateway's HTTP port: /readyz, /status, /admin),
#                    ADMIN_KEY=… or ADMIN_KEY_FILE=/path (the gateway's Gateway:AdminKey; else $RELAY_ADMIN_KEY),
#                    optional UNIT=relay-gateway (a systemd unit: systemctl stop/start instead of the pid file)
#   gateway.args     the gateway's command-line arguments, one per line (e.g. --config=/etc/relay/gateway.json)
#   current          symlink to the release running now (releases/<name>); switched atomically on install
#   releases/        installed releases (the newest three are kept: the previous one is the rollback); with UNIT=
#                    and a .deb, the packages installed (current → the installed one)
#   gateway.pid, gateway.log    written when this script starts the gateway (cwd: RELAY_DIR)
#
# Options: --drain-timeout S (120: then stop anyway; SIGTERM closes what is left with 1001), --ready-timeout S (60),
#          --stop-timeout S (30), --settle S (2: pause after an undrain before the next relay's drain),
#          --force (drain even the last healthy relay of the fleet, e.g. a region of one: its users wait for it)
# Every wait is bounded; each relay's progress is one line on stdout ("upgrade: gw1: drained (0 sessions) in 1.2 s").
set -euo pipefail

DRAIN_TIMEOUT=120 READY_TIMEOUT=60 STOP_TIMEOUT=30 SETTLE=2 FORCE=""
MODE=upgrade
case "${1:-}" in
  start|stop) MODE=$1; shift ;;
  -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --drain-timeout) DRAIN_TIMEOUT=$2; shift 2 ;;
    --ready-timeout) READY_TIMEOUT=$2; shift 2 ;;
    --stop-timeout) STOP_TIMEOUT=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --force) FORCE="?force=true"; shift ;;
    --) shift; break ;;
    -*) echo "rolling-upgrade: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
for v in "$DRAIN_TIMEOUT" "$READY_TIMEOUT" "$STOP_TIMEOUT" "$SETTLE"; do
  [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -le 86400 ] || { echo "rolling-upgrade: timeouts are whole seconds, 0-86400; got '$v'" >&2; exit 2; }
done

die() { echo "rolling-upgrade: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f s", (b - a) / 1000 }'; }

# --- one relay's folder ----------------------------------------------------------------------------------------
load_relay() { # load_relay DIR: NAME, DIR, URL, ADMIN_KEY, UNIT
  DIR=$(cd "$1" 2>/dev/null && pwd) || die "$1: no such relay folder"
  [ -f "$DIR/relay.env" ] || die "$DIR/relay.env is missing (URL=http://HOST:PORT and ADMIN_KEY or ADMIN_KEY_FILE)"
  NAME=$(basename "$DIR") URL="" ADMIN_KEY="" ADMIN_KEY_FILE="" UNIT=""
  local line key value
  while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    [[ "$line" =~ ^([A-Z_]+)=(.*)$ ]] || die "$DIR/relay.env: not KEY=VALUE: $line"
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    case "$key" in
      URL) URL=${value%/} ;;
      ADMIN_KEY) ADMIN_KEY=$value ;;
      ADMIN_KEY_FILE) ADMIN_KEY_FILE=$value ;;
      UNIT) UNIT=$value ;;
      NAME) NAME=$value ;;
      *) die "$DIR/relay.env: unknown key $key (URL, ADMIN_KEY, ADMIN_KEY_FILE, UNIT, NAME)" ;;
    esac
  done <"$DIR/relay.env"
  [[ "$URL" =~ ^https?://[^/]+$ ]] || die "$DIR/relay.env: URL must be http(s)://HOST:PORT; got '$URL'"
  if [ -z "$ADMIN_KEY" ] && [ -n "$ADMIN_KEY_FILE" ]; then
    [ -r "$ADMIN_KEY_FILE" ] || die "$NAME: cannot read ADMIN_KEY_FILE $ADMIN_KEY_FILE"
    ADMIN_KEY=$(head -c 4096 "$ADMIN_KEY_FILE" | tr -d '\r\n')
  fi
  ADMIN_KEY=${ADMIN_KEY:-${RELAY_ADMIN_KEY:-}}
  [ -n "$ADMIN_KEY" ] || die "$NAME: no admin key (ADMIN_KEY or ADMIN_KEY_FILE in relay.env, or RELAY_ADMIN_KEY)"
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" 2>/dev/null || true; }
ready() { [ "$(http_code "$URL/readyz")" = 200 ]; }
sessions() { # the relay's open sessions (/status health.sessions), or "?" when it does not answer
  local s
  s=$(curl -fs --max-time 3 "$URL/status" 2>/dev/null | grep -o '"sessions":[0-9]*' | head -1 | cut -d: -f2) || true
  echo "${s:-?}"
}
admin() { # admin drain|undrain: the response body; HTTP status in ADMIN_STATUS
  # The key goes to curl in its config on standard input (printf is a builtin): on curl's command line (-H) every local
  # user would read it in /proc/PID/cmdline for as long as the call lasts.
  local out key=${ADMIN_KEY//\\/\\\\}
  key=${key//\"/\\\"}
  out=$(printf 'header = "Authorization: Bearer %s"\n' "$key" | curl -s --max-time 5 -X POST -K - -w '\n%{http_code}' "$URL/admin/$1" 2>/dev/null) || true
  ADMIN_STATUS=${out##*$'\n'}
  ADMIN_BODY=${out%$'\n'*}
}

pid_of() { # the pid in gateway.pid when that process is still this relay's gateway
  local pid
  [ -f "$DIR/gateway.pid" ] || return 1
  pid=$(head -c 32 "$DIR/gateway.pid" | tr -dc 0-9)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'Relay\.Gateway' || return 1
  echo "$pid"
}

logs() { if [ -n "$UNIT" ]; then echo "journalctl -u $UNIT"; else echo "$DIR/gateway.log"; fi; }

start_relay() { # false (one line on stderr) when the relay cannot be started; the caller rolls back or stops
  if [ -n "$UNIT" ]; then
    # --no-block: a Type=notify unit's start returns only at READY=1 or its TimeoutStartSec (300 s for the package's);
    # wait_ready bounds the wait by --ready-timeout instead, and a start that fails is rolled back, not left failed.
    systemctl start --no-block "$UNIT" || { echo "rolling-upgrade: $NAME: systemctl start $UNIT failed" >&2; return 1; }
    return 0
  fi
  if pid=$(pid_of); then die "$NAME: already running (pid $pid)"; fi
  local release=$DIR/current cmd=()
  [ -d "$release" ] || { echo "rolling-upgrade: $NAME: $DIR/current is not a release folder" >&2; return 1; }
  # A framework-dependent build runs with dotnet; a self-contained (or single-file) publish runs on its own.
  if [ -f "$release/Relay.Gateway.dll" ] && ! grep -qs includedFrameworks "$release/Relay.Gateway.runtimeconfig.json"; then
    cmd=(dotnet "$release/Relay.Gateway.dll")
  elif [ -x "$release/Relay.Gateway" ]; then
    cmd=("$release/Relay.Gateway")
  else
    echo "rolling-upgrade: $NAME: no Relay.Gateway (or Relay.Gateway.dll) in $(readlink -f "$release")" >&2
    return 1
  fi
  local args=()
  if [ -f "$DIR/gateway.args" ]; then
    while IFS= read -r line || [ -n "$line" ]; do [ -n "$line" ] && args+=("$line"); done <"$DIR/gateway.args"
  fi
  # Its own session (setsid): it outlives this script; output to the relay's log, never to our stdout.
  (cd "$DIR" && exec setsid "${cmd[@]}" "${args[@]}" >>"$DIR/gateway.log" 2>&1 </dev/null) &
  local child=$! i
  echo "$child" >"$DIR/gateway.pid"
  # Until the subshell has exec'd the gateway, its command line is this script's, and pid_of (so wait_ready) would
  # take the relay for dead: on a busy machine that read "not ready" at once and rolled a good release back. Wait for
  # the exec (or the child's end), up to 5 s.
  for ((i = 0; i < 50; i++)); do pid_of >/dev/null && break; kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
}

stop_relay() {
  if [ -n "$UNIT" ]; then
    systemctl stop "$UNIT" || die "$NAME: systemctl stop $UNIT failed"
    return
  fi
  local pid i
  pid=$(pid_of) || { rm -f "$DIR/gateway.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "upgrade: $NAME: still running ${STOP_TIMEOUT} s after SIGTERM; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$DIR/gateway.pid"
}

wait_ready() { # wait_ready: true once /readyz is 200 within READY_TIMEOUT (false at once when our process died or the unit failed)
  local i pid
  for ((i = 0; i < READY_TIMEOUT * 5; i++)); do
    ready && return 0
    if [ -z "$UNIT" ] && ! pid_of >/dev/null; then return 1; fi
    if [ -n "$UNIT" ] && systemctl is-failed --quiet "$UNIT"; then return 1; fi
    sleep 0.2
  done
  return 1
}

# --- install ---------------------------------------------------------------------------------------------------
STAGED="" STAGED_NAME=""
stage_new() { # stage_new NEW: a folder with the new gateway binaries in STAGED (unpacked once for every relay)
  local new=$1
  if [ -d "$new" ]; then
    STAGED=$(cd "$new" && pwd)
  elif [[ "$new" == *.deb ]] && [ -f "$new" ]; then
    command -v dpkg-deb >/dev/null 2>&1 || die "$new: dpkg-deb is needed to unpack a .deb"
    UNPACKED=$(mktemp -d "${TMPDIR:-/tmp}/relay-upgrade-XXXXXX")
    trap 'rm -rf "$UNPACKED"' EXIT
    dpkg-deb -x "$new" "$UNPACKED" || die "$new: dpkg-deb -x failed"
    local exe
    exe=$(find "$UNPACKED" \( -name Relay.Gateway.dll -o -name Relay.Gateway \) -type f | head -1)
    [ -n "$exe" ] || die "$new: no Relay.Gateway binary in the package"
    STAGED=$(dirname "$exe")
  else
    die "$new: neither a folder of gateway binaries nor a .deb"
  fi
  [ -f "$STAGED/Relay.Gateway.dll" ] || [ -x "$STAGED/Relay.Gateway" ] || die "$new: no Relay.Gateway (or Relay.Gateway.dll) in it"
  # The release's name: its VERSION file when it has one (publish writes it), else the folder's name; and the time.
  local version
  version=$(head -c 64 "$STAGED/VERSION" 2>/dev/null | tr -dc 'A-Za-z0-9._+-' || true)
  STAGED_NAME="${version:-$(basename "$STAGED" | tr -dc 'A-Za-z0-9._+-')}-$(date -u +%Y%m%d%H%M%S)"
}

installed_deb() { # the .deb of the relay-gateway version dpkg has installed (a package upgrade's rollback), else false
  local version file
  version=$(dpkg-query -W -f='${Version}' relay-gateway 2>/dev/null) && [ -n "$version" ] || return 1
  for file in "$DIR"/releases/*.deb /var/cache/apt/archives/relay-gateway_*.deb; do
    [ -f "$file" ] && [ "$(dpkg-deb -f "$file" Version 2>/dev/null)" = "$version" ] && { echo "$file"; return 0; }
  done
  return 1
}

check_mode() { # check_mode: refuses (before any relay is drained) an upgrade that would not change what the relay runs
  if [ -z "$UNIT" ]; then
    # The folder mode stops the gateway in gateway.pid and starts DIR/current: a relay started any other way (the
    # relay-gateway package's systemd unit runs /opt/relay/gateway) would be drained, not stopped, and keep its binary.
    pid_of >/dev/null || die "$NAME: the gateway at $URL was not started from $DIR (no running gateway.pid): a relay run by systemd is upgraded with UNIT= in relay.env (the relay-gateway package: UNIT=relay-gateway and its .deb); nothing was changed"
  elif [[ "$NEW" == *.deb ]]; then
    command -v dpkg >/dev/null 2>&1 || die "$NAME: UNIT= with a .deb installs it with dpkg -i: no dpkg here; nothing was changed"
    installed_deb >/dev/null || die "$NAME: no .deb of the installed relay-gateway $(dpkg-query -W -f='${Version}' relay-gateway 2>/dev/null || echo '(none installed)') to roll back to: put it in $DIR/releases/; nothing was changed"
  else
    local exec
    exec=$(systemctl show -p ExecStart --value "$UNIT" 2>/dev/null || true)
    [[ "$exec" == *"$DIR/current/"* ]] || die "$NAME: $UNIT does not run $DIR/current (ExecStart: $(echo "$exec" | sed -n 's/.*argv\[\]=\([^;]*\);.*/\1/p' | sed 's/ *$//')): a folder would not change what it runs; a packaged relay is upgraded with its .deb; nothing was changed"
  fi
}

switch_current() { ln -sfn "$1" "$DIR/current.new" && mv -T "$DIR/current.new" "$DIR/current"; }

prune_releases() { # keeps the newest three releases (the running one and the rollback among them)
  local old
  for old in $(ls -1t "$DIR/releases" | tail -n +4); do
    [ "releases/$old" = "$PREVIOUS" ] || [ "$DIR/releases/$old" = "$PREVIOUS_DEB" ] || rm -rf "${DIR:?}/releases/$old"
  done
}

install_release() { # installs NEW; PREVIOUS: the old DIR/current target, PREVIOUS_DEB: the package to roll back to
  PREVIOUS=$(readlink "$DIR/current" 2>/dev/null || true) PREVIOUS_DEB=""
  mkdir -p "$DIR/releases"
  if [ -n "$UNIT" ] && [[ "$NEW" == *.deb ]]; then
    PREVIOUS_DEB=$(installed_deb) || die "$NAME: no .deb of the installed relay-gateway to roll back to; nothing installed (the relay is stopped)"
    if [[ "$PREVIOUS_DEB" != "$DIR/releases/"* ]]; then # from apt's cache: kept beside the releases, as the rollback
      cp "$PREVIOUS_DEB" "$DIR/releases/$(basename "$PREVIOUS_DEB")" && PREVIOUS_DEB=$DIR/releases/$(basename "$PREVIOUS_DEB")
    fi
    local deb=$DIR/releases/$STAGED_NAME.deb
    cp "$NEW" "$deb.partial" && mv "$deb.partial" "$deb"
    switch_current "releases/$STAGED_NAME.deb"
    prune_releases
    dpkg -i "$deb" >/dev/null || { echo "rolling-upgrade: $NAME: dpkg -i $NEW failed" >&2; return 1; }
    return 0
  fi
  local target=$DIR/releases/$STAGED_NAME
  rm -rf "$target.partial"
  cp -a "$STAGED" "$target.partial" && mv "$target.partial" "$target"
  switch_current "releases/$STAGED_NAME"
  prune_releases
}

rollback() {
  local to=$PREVIOUS
  [ -z "$PREVIOUS_DEB" ] || to="relay-gateway $(dpkg-deb -f "$PREVIOUS_DEB" Version) (${PREVIOUS_DEB#"$DIR/"})"
  [ -n "$to" ] || die "$NAME: the new version did not get ready in ${READY_TIMEOUT} s and there is no previous release; see $(logs)"
  echo "upgrade: $NAME: the new version did not get ready in ${READY_TIMEOUT} s; rolling back to $to" >&2
  stop_relay
  if [ -n "$PREVIOUS_DEB" ]; then
    # The package's own way back: dpkg -i of the previous version (a downgrade; the conffile keeps the operator's edits).
    dpkg -i "$PREVIOUS_DEB" >/dev/null || die "$NAME: dpkg -i $PREVIOUS_DEB failed; the relay is stopped"
    switch_current "${PREVIOUS_DEB#"$DIR/"}"
  else
    switch_current "$PREVIOUS"
  fi
  { start_relay && wait_ready; } || die "$NAME: the previous release did not get ready either; see $(logs)"
  admin undrain
  die "$NAME: rolled back to $to; the rollout stopped here (see $(logs))"
}

# --- one relay, then the next ----------------------------------------------------------------------------------
upgrade_relay() {
  local t0 i n="?"
  t0=$(now_ms)
  # Drain: refused (409) while the core's fleet view shows no other healthy relay (e.g. the one upgraded just before
  # is not yet reported healthy): asked again until READY_TIMEOUT; --force drains it anyway.
  for ((i = 0; ; i++)); do
    admin "drain$FORCE"
    [ "$ADMIN_STATUS" = 200 ] && break
    [ "$ADMIN_STATUS" = 401 ] && die "$NAME: drain: 401 (wrong admin key)"
    [ $((i / 5)) -lt "$READY_TIMEOUT" ] || die "$NAME: drain refused for ${READY_TIMEOUT} s (HTTP $ADMIN_STATUS: $ADMIN_BODY); nothing stopped"
    sleep 0.2
  done
  echo "upgrade: $NAME: draining"
  # Its sessions move: it answers /readyz 503 (HAProxy stops sending), closes them with 4001 in batches.
  for ((i = 0; i < DRAIN_TIMEOUT * 5; i++)); do
    n=$(sessions)
    [ "$n" = 0 ] && break
    sleep 0.2
  done
  if [ "$n" = 0 ]; then echo "upgrade: $NAME: drained (0 sessions) in $(since "$t0")"
  else echo "upgrade: $NAME: $n session(s) left after --drain-timeout ${DRAIN_TIMEOUT} s; stopping anyway (they get 1001 and resume elsewhere)"; fi
  stop_relay
  echo "upgrade: $NAME: stopped"
  if ! install_release; then rollback; fi
  echo "upgrade: $NAME: installed $(readlink "$DIR/current" 2>/dev/null || echo "$NEW")"
  { start_relay && wait_ready; } || rollback
  admin undrain
  [ "$ADMIN_STATUS" = 200 ] || echo "upgrade: $NAME: undrain answered HTTP $ADMIN_STATUS (a fresh process takes sessions anyway)" >&2
  echo "upgrade: $NAME: ready and undrained ($(since "$t0") in all)"
}

case "$MODE" in
  start)
    [ $# -gt 0 ] || die "start: which relay folders?"
    for r in "$@"; do
      load_relay "$r"
      start_relay || exit 1
      wait_ready || die "$NAME: not ready after ${READY_TIMEOUT} s; see $(logs)"
      echo "upgrade: $NAME: ready"
    done ;;
  stop)
    [ $# -gt 0 ] || die "stop: which relay folders?"
    for r in "$@"; do load_relay "$r"; stop_relay; echo "upgrade: $NAME: stopped"; done ;;
  upgrade)
    [ $# -ge 2 ] || die "usage: rolling-upgrade.sh [options] NEW RELAY_DIR... (--help)"
    command -v curl >/dev/null 2>&1 || die "curl is needed"
    NEW=$1; shift
    stage_new "$NEW"
    for r in "$@"; do
      load_relay "$r"
      ready || die "$NAME: $URL/readyz is not 200 before the upgrade; fix it first (nothing was changed)"
      check_mode
    done
    started=$(now_ms) count=0
    for r in "$@"; do
      [ "$count" -gt 0 ] && sleep "$SETTLE"
      load_relay "$r"
      upgrade_relay
      count=$((count + 1))
    done
    echo "upgrade: $count relay(s) upgraded to $STAGED_NAME in $(since "$started")" ;;
esac
