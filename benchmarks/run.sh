#!/usr/bin/env bash
# Runs the BenchmarkDotNet suite (ratios against the BCL in the same run) and the C harness.
#   benchmarks/run.sh           full runs (minutes per class); results under artifacts/benchmarks
#   benchmarks/run.sh --quick   short runs, a one-screen table of ratios
#   benchmarks/run.sh --smoke   one iteration of each benchmark: checks that every one executes (CI)
# Any further arguments go to BenchmarkDotNet (for example --filter '*Copy*').
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="full"
case "${1:-}" in --quick|--smoke) mode="${1#--}"; shift ;; esac
out="$root/artifacts/benchmarks/$mode"
mkdir -p "$out"

case "$mode" in
  full)  job=(--job Default) ;;
  quick) job=(--job Short --warmupCount 2 --iterationCount 5) ;;
  smoke) job=(--job Dry) ;;
esac
filter=(--filter '*')
[[ $# -gt 0 ]] && filter=()

dotnet build "$root/benchmarks/NoInherit.Native.Benchmarks" -c Release -v quiet -nologo >/dev/null
dotnet "$root/benchmarks/NoInherit.Native.Benchmarks/bin/Release/net10.0/NoInherit.Native.Benchmarks.dll" \
  "${job[@]}" "${filter[@]}" --artifacts "$out" --exporters github "$@" | tee "$out/console.log" |
  grep -E '^\s*\|' || true

if [[ "$mode" != smoke ]]; then
  echo "== C harness: ni_ calls against the raw system calls"
  cmake -S "$root" -B "$out/native" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DNI_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$out/native" --target ni_bench >/dev/null
  "$out/native/benchmarks/native/ni_bench" "$([[ "$mode" == quick ]] && echo 200000 || echo 2000000)"
fi
