#!/usr/bin/env bash
# Installs PowerShell (the .NET global tool "PowerShell", pinned) for the build.ps1 tests when it is missing, and prints
# the path of its pwsh on stdout (the only line there; messages go to stderr). Idempotent: a second run only prints it.
#   scripts/install-pwsh.sh                  into $RELAY_PWSH_DIR, default ~/.dotnet/tools-relay (kept across checkouts)
#   RELAY_PWSH_DIR=artifacts/pwsh scripts/install-pwsh.sh
# Exit 0 with the path, or exit 1 with one line on stderr saying what failed (the tests then fail under CI=true).
set -uo pipefail
VERSION=${RELAY_PWSH_VERSION:-7.6.9}
DIR=${RELAY_PWSH_DIR:-$HOME/.dotnet/tools-relay}
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
PWSH=$DIR/pwsh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

installed_version() { "$PWSH" -NoLogo -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | tr -d '\r'; }

if [ -x "$PWSH" ] && [ "$(installed_version)" = "$VERSION" ]; then
  echo "$PWSH"
  exit 0
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "install-pwsh: 'dotnet' is not on PATH; cannot install PowerShell $VERSION (dotnet tool install PowerShell)" >&2
  exit 1
fi
# Another version (or a broken install) in the folder: replace it. One installer at a time (flock when there is one).
lock=$DIR/.install.lock
exec 9>"$lock"
command -v flock >/dev/null 2>&1 && flock -w 600 9
if ! { [ -x "$PWSH" ] && [ "$(installed_version)" = "$VERSION" ]; }; then
  if [ -e "$PWSH" ]; then dotnet tool uninstall --tool-path "$DIR" PowerShell >/dev/null 2>&1 || true; fi
  if ! log=$(dotnet tool install --tool-path "$DIR" PowerShell --version "$VERSION" 2>&1); then
    echo "install-pwsh: dotnet tool install PowerShell $VERSION into $DIR failed: $(tail -1 <<<"$log")" >&2
    exit 1
  fi
fi
if [ "$(installed_version)" != "$VERSION" ]; then
  echo "install-pwsh: $PWSH does not run (expected PowerShell $VERSION)" >&2
  exit 1
fi
echo "$PWSH"
