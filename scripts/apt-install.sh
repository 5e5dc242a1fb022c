#!/usr/bin/env bash
# Shared by the scripts/install-*.sh scripts (source it): apt_install TAG SERVICE PACKAGE...
# Installs the Debian packages quietly (no recommends) when run as root with apt-get; a package's system service
# SERVICE (empty: none) is kept from starting while it installs (policy-rc.d 101) and stopped and disabled after,
# since Relay's tests and benches start their own processes. Never fails: without root or apt-get, or when apt-get
# fails, it prints what is missing and returns 1 (the callers still exit 0: the tests that need the tool say so,
# and under CI=true they fail).
apt_install() {
  local tag=$1 service=$2
  shift 2
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$tag: missing $*; as root run: apt-get install -y --no-install-recommends $*"
    return 1
  fi
  echo "$tag: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  local policy=/usr/sbin/policy-rc.d own_policy='' log rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  log=$(mktemp)
  # In a subshell whose EXIT trap removes our policy-rc.d even when apt-get is interrupted (Ctrl-C, a kill): left
  # behind, it would keep every package's service on this machine from starting.
  if ! (
    trap '[ -z "$own_policy" ] || rm -f "$policy"' EXIT
    apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@"
  ) >"$log" 2>&1; then
    echo "$tag: apt-get failed:"
    tail -5 "$log"
    rc=1
  fi
  rm -f "$log"
  # If the service runs anyway (an existing policy-rc.d allowed it, or it was installed before), stop and disable it.
  if [ -n "$service" ]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now "$service" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$service" ]; then
      "/etc/init.d/$service" stop >/dev/null 2>&1 || true
      command -v update-rc.d >/dev/null 2>&1 && update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
  fi
  return $rc
}
