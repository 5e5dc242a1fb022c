#!/usr/bin/env bash
# A real systemd service manager for the UNIT= tests of scripts/rolling-upgrade.sh, on a machine where systemd is not
# PID 1 (a container, a CI VM): `systemd --user`, run as root in its own cgroup (a child of this process's cgroup v2
# group, the root of a new cgroup namespace) and its own mount namespace, where /run/systemd/system says "booted with
# systemd" and /run/systemd/private (the socket `systemctl` uses as root) leads to this manager. So a plain
# `systemctl start UNIT`, entered into that namespace (nsenter -t PID -m -C), starts a unit of STATE/units.
# Nothing outside: the host's cgroups and /run are untouched (a manager at the root cgroup would move every process of
# the machine into its init.scope). Runs until SIGTERM (the manager stops its units and exits).
#   systemd-manager.sh STATE      → STATE/cgroup (the group to remove afterwards), STATE/units, STATE/runtime
set -euo pipefail
STATE=${1:?usage: systemd-manager.sh STATE}
systemd=$(command -v systemd || ls /lib/systemd/systemd /usr/lib/systemd/systemd 2>/dev/null | head -1)
[ -x "$systemd" ] || { echo "systemd-manager: no systemd binary" >&2; exit 1; }
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$cg2" ] || { echo "systemd-manager: no cgroup2 mount" >&2; exit 1; }
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
group=$cg2${own%/}/relay-systemd-$$
mkdir "$group"
echo "$group" >"$STATE/cgroup"
echo $$ >"$group/cgroup.procs"
mkdir -p "$STATE/runtime" "$STATE/units"
chmod 0700 "$STATE/runtime"
# Only the test's units (and the targets a service depends on by default), none of the machine's user units.
for target in default basic shutdown; do printf "[Unit]\nDescription=relay tests: %s\n" "$target" >"$STATE/units/$target.target"; done
export XDG_RUNTIME_DIR=$STATE/runtime SYSTEMD_UNIT_PATH=$STATE/units SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=notice
exec unshare --cgroup --mount --propagation private bash -c '
  set -e
  mount -t tmpfs -o mode=0755 tmpfs /run/systemd
  mkdir /run/systemd/system
  ln -s "$XDG_RUNTIME_DIR/systemd/private" /run/systemd/private
  mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
  exec "$0" --user
' "$systemd"
