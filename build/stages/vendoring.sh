#!/usr/bin/env bash
# Stage vendoring: tests/Packaging/vendoring.sh, apps in a temporary folder outside the repository that reference
# NoInherit.Native.csproj by path (dotnet run, self-contained, NativeAOT as one file, win-x64 under wine), one JUnit
# case per scenario. Their builds build the repository's projects, so each takes the build lock; the runs do not.
#   build/stages/vendoring.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stage_init vendoring
wine_ready
NI_BUILD_LOCK="$artifacts/.build.lock" NI_RESULTS="$results/vendoring.xml" NI_LOGS="$logs/vendoring" \
  bash "$root/tests/Packaging/vendoring.sh" >"$logs/vendoring.log" 2>&1
grep -E '^FAIL ' "$logs/vendoring.log" | sed 's/^/   /'
exit 0
