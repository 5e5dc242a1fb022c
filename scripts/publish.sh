#!/usr/bin/env bash
# ./build.sh publish — self-contained, versioned artifacts of the gateway, core-sim and (when the project exists) the
# relay CLI, for each runtime identifier, with archives, a Debian package of the gateway and SHA256SUMS:
#   artifacts/publish/<version>/<project>-<rid>/          the published folder (apphost + runtime)
#   artifacts/publish/<version>/<project>-<version>-<rid>.tar.gz (linux) / .zip (windows)
#   artifacts/publish/<version>/relay-gateway_<version>_amd64.deb
#   artifacts/publish/<version>/SHA256SUMS                 sha256sum -c SHA256SUMS checks them
# The version comes from git (scripts/version.sh): X.Y.Z on a tag vX.Y.Z, X.Y.Z+N.gSHA after it, 0.1.0+N.gSHA with
# no tag (N: commits, so later builds of a branch sort later), ".dirty" with uncommitted changes; VERSION=… overrides.
# It is stamped into every assembly's InformationalVersion (what `--version`-style output and /status can show).
# Options: RIDS="linux-x64 win-x64" (default), PROJECTS="gateway core-sim cli" (default: all that exist), NO_DEB=1,
# DEB_XZ_LEVEL=0-9 (the package's xz level, default 6; packaging/deb/build-deb.sh),
# PUBLISH_DIR=… (another output folder; the tests use one of their own).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

VERSION=${VERSION:-$(bash scripts/version.sh)}
# The numeric part for AssemblyVersion/FileVersion (the rest only in InformationalVersion).
NUMERIC=$(sed -E 's/^([0-9]+\.[0-9]+\.[0-9]+).*/\1/' <<<"$VERSION")
RIDS=${RIDS:-linux-x64 win-x64}
OUT=${PUBLISH_DIR:-$ROOT/artifacts/publish/$VERSION}
# Publish builds in a folder of its own (bin and obj per project): a runtime-specific restore in the projects' own obj
# folders would make the next `./build.sh build` (or run, or test) restore and rebuild the whole solution (2 min here).
BUILD=$ROOT/artifacts/publish-build

# name → project file; the CLI is published only when its project exists (tools/Relay.Cli, issue 19).
declare -A PROJECT=([gateway]=gateway/Relay.Gateway.csproj [core-sim]=core-sim/Relay.CoreSim.csproj [cli]=tools/Relay.Cli/Relay.Cli.csproj)
if [ -z "${PROJECTS:-}" ]; then
  PROJECTS="gateway core-sim"
  [ -f "${PROJECT[cli]}" ] && PROJECTS="$PROJECTS cli"
fi

echo "publish: version $VERSION → $OUT"
rm -rf "$OUT"; mkdir -p "$OUT"
published_linux=()
for rid in $RIDS; do
  for name in $PROJECTS; do
    proj=${PROJECT[$name]:-}
    if [ -z "$proj" ] || [ ! -f "$proj" ]; then
      echo "publish: no project for '$name' ($proj); skipped" >&2
      continue
    fi
    dir=$OUT/$name-$rid
    log=$OUT/.publish-$name-$rid.log
    echo "publish: $name $rid"
    if ! dotnet publish "$proj" -c Release -r "$rid" --self-contained true -o "$dir" -nologo -v quiet --artifacts-path "$BUILD" \
        -p:Version="$NUMERIC" -p:InformationalVersion="$VERSION" -p:IncludeSourceRevisionInInformationalVersion=false \
        -p:DebugType=None -p:DebugSymbols=false -p:GenerateDocumentationFile=false >"$log" 2>&1; then
      if grep -qiE 'NU1101|NU1102|Unable to find package|runtime pack|Microsoft\.(NETCore|AspNetCore)\.App\.(Runtime|Host)' "$log"; then
        echo "publish: SKIPPED $name $rid: its runtime packs are not served by the NuGet source here (see $log)" >&2
        rm -rf "$dir"
        continue
      fi
      echo "publish: dotnet publish $name $rid failed:" >&2
      tail -20 "$log" >&2
      exit 1
    fi
    rm -f "$log"
    printf '%s' "$VERSION" >"$dir/VERSION" # scripts/rolling-upgrade.sh names the release after it
    case "$rid" in
      win-*) command -v zip >/dev/null 2>&1 || { echo "publish: zip is missing (apt-get install zip), needed for $rid; or RIDS=linux-x64" >&2; exit 1; }
             (cd "$OUT" && zip -qr "$name-$VERSION-$rid.zip" "$name-$rid") ;;
      *) tar -C "$OUT" -czf "$OUT/$name-$VERSION-$rid.tar.gz" "$name-$rid"
         [ "$rid" = linux-x64 ] && published_linux+=("$name") ;;
    esac
  done
done

if [ -z "${NO_DEB:-}" ] && [ -d "$OUT/gateway-linux-x64" ]; then
  bash packaging/deb/build-deb.sh "$OUT" "$VERSION"
fi

(cd "$OUT" && find . -maxdepth 1 -type f \( -name '*.tar.gz' -o -name '*.zip' -o -name '*.deb' \) -printf '%f\n' | sort | xargs -r sha256sum >SHA256SUMS)
echo "publish: done; $OUT:"
(cd "$OUT" && cat SHA256SUMS)
