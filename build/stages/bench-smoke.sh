#!/usr/bin/env bash
# Stage bench-smoke: every benchmark once (benchmarks/run.sh --smoke): that each one runs, not how fast.
#   build/stages/bench-smoke.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stage_init bench-smoke

# All of it holds the build lock: BenchmarkDotNet restores and builds a generated project that references the
# repository's projects, in their obj/ folders, which another stage's build must not be writing at the same time.
NI_RESULTS="$results/benchmarks.xml" serialized bash "$root/benchmarks/run.sh" --smoke >"$logs/smoke.log" 2>&1
sed -n '/^Benchmarks with issues:/,/^$/p' "$logs/smoke.log"
exit 0
