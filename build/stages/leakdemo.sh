#!/usr/bin/env bash
# Stage leakdemo: the LeakDemo sample runs to its end (samples/LeakDemo: the leak, side by side with the fix).
#   build/stages/leakdemo.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stage_init leakdemo
demo="$root/samples/LeakDemo"

if ! serialized dotnet build "$demo" -c Release >"$logs/build.log" 2>&1; then
  failed leakdemo "dotnet build LeakDemo" "$logs/build.log"
  exit 1
fi
if bounded 300 dotnet run --project "$demo" -c Release --no-build >"$logs/run.log" 2>&1; then
  record leakdemo "LeakDemo runs to its end" pass
else
  record leakdemo "LeakDemo runs to its end" fail "exit $?" "$logs/run.log"
fi
exit 0
