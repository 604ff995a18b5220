#!/usr/bin/env bash
# Stage bench-smoke: every benchmark once (benchmarks/run.sh --smoke): that each one runs, not how fast.
#   build/stages/bench-smoke.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stage_init bench-smoke

# In process (BenchmarkDotNet's --inProcess): the smoke checks that every benchmark runs, and so needs none of the
# generated project that BenchmarkDotNet otherwise restores and builds for its child process (about 40 s, in the
# repository projects' obj/ folders). run.sh still builds the suite and the C harness, so it holds the build lock.
NI_RESULTS="$results/benchmarks.xml" serialized bash "$root/benchmarks/run.sh" --smoke --filter '*' --inProcess \
  >"$logs/smoke.log" 2>&1
sed -n '/^Benchmarks with issues:/,/^$/p' "$logs/smoke.log"
exit 0
