#!/usr/bin/env bash
# Stage package: dotnet pack (the native library of every shipped RID, both target frameworks), then the consumption
# tests (tests/Packaging/run.sh): a fresh app takes the .nupkg every way users do, one JUnit case per scenario.
#   build/stages/package.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stage_init package

if ! serialized dotnet pack "$root/managed/NoInherit.Native" -c Release >"$logs/pack.log" 2>&1; then
  failed consumption "dotnet pack" "$logs/pack.log"
  exit 1
fi
# The consumer's own publishes touch none of the repository's projects: they need no build lock.
wine_ready
NI_RESULTS="$results/consumption.xml" NI_LOGS="$logs/consumption" bash "$root/tests/Packaging/run.sh" \
  >"$logs/consumption.log" 2>&1
grep -E '^FAIL ' "$logs/consumption.log" | sed 's/^/   /'
exit 0
