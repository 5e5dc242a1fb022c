#!/usr/bin/env bash
# Prints Relay's version from git: X.Y.Z on a tag vX.Y.Z; X.Y.Z+N.gSHA N commits after it; 0.1.0+N.gSHA with no tag
# (N counts every commit, so later builds of a branch sort later, for dpkg too); ".dirty" when the tree has changes.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=0.1.0
if ! git rev-parse --git-dir >/dev/null 2>&1; then echo "$BASE+local"; exit 0; fi
sha=$(git rev-parse --short=7 HEAD)
dirty=""
git diff --quiet HEAD -- 2>/dev/null || dirty=".dirty"
if tag=$(git describe --tags --match 'v[0-9]*.[0-9]*.[0-9]*' --abbrev=0 2>/dev/null); then
  n=$(git rev-list --count "$tag..HEAD")
  v=${tag#v}
  if [ "$n" -eq 0 ]; then echo "$v${dirty:++dirty}"; else echo "$v+$n.g$sha$dirty"; fi
else
  echo "$BASE+$(git rev-list --count HEAD).g$sha$dirty"
fi
