#!/usr/bin/env bash
# Runs the BenchmarkDotNet suite (ratios against the BCL in the same run) and the C harness.
#   benchmarks/run.sh           full runs (BenchmarkDotNet's default job); results under artifacts/benchmarks
#   benchmarks/run.sh --quick   short runs, a one-screen table of ratios
#   benchmarks/run.sh --smoke   one iteration of each benchmark: checks that every one executes (CI): one JUnit case
#                               per benchmark and one for the C harness in NI_RESULTS (by default
#                               artifacts/test-results/bench-smoke/benchmarks.xml); its last line is
#                               "benchmarks: N passed, N failed, 0 skipped"
#   --aot (with any of them)    the same suite compiled with NativeAOT
#   --dotnet11 (with any of them) the suite on the .NET 11 runtime (build/dotnet11.sh's private root), in process, with
#                               the DotNet11* classes (ChildProcess against .NET 11's process API); no C harness
# Any further arguments go to BenchmarkDotNet (for example --filter '*Copy*').
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="full" aot=() runner=(dotnet) inprocess=() suffix=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick|--smoke) mode="${1#--}"; shift ;;
    --aot) aot=(--aot); suffix="-aot"; shift ;;
    --dotnet11) runner=(bash "$root/build/dotnet11.sh" run); inprocess=(--inprocess); suffix="-dotnet11"; shift ;;
    *) break ;;
  esac
done
out="$root/artifacts/benchmarks/$mode$suffix"
mkdir -p "$out"
modeflag=()
[[ "$mode" != full ]] && modeflag=("--$mode")
filter=(--filter '*')
[[ $# -gt 0 ]] && filter=()

dotnet build "$root/benchmarks/NoInherit.Native.Benchmarks" -c Release -v quiet -nologo >/dev/null
"${runner[@]}" "$root/benchmarks/NoInherit.Native.Benchmarks/bin/Release/net10.0/NoInherit.Native.Benchmarks.dll" \
  "${modeflag[@]}" "${aot[@]}" "${inprocess[@]}" "${filter[@]}" --artifacts "$out" --exporters github "$@" >"$out/console.log" 2>&1 || true
# The one-screen table (ratios of medians, from Program.cs); BenchmarkDotNet's full tables stay in console.log
# and results/.
sed -n '/^== ratios/,/^$/p' "$out/console.log"
grep -E '^// blocks:' "$out/console.log" || true

harness_ok=1
if [[ -z "${inprocess[*]}" ]]; then # (the .NET 11 lane leaves it out: the C harness does not depend on the runtime)
echo "== C harness: ni_ calls against the raw system calls; ni_spawn against posix_spawn"
cmake -S "$root" -B "$out/native" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DNI_BUILD_BENCHMARKS=ON >/dev/null &&
  cmake --build "$out/native" --target ni_bench >/dev/null || harness_ok=0
case "$mode" in
  smoke) iterations=(100 2) ;;
  quick) iterations=(200000 200) ;;
  full)  iterations=(2000000 2000) ;;
esac
[[ $harness_ok -eq 1 ]] && { "$out/native/benchmarks/native/ni_bench" "${iterations[@]}" || harness_ok=0; }
fi

if [[ "$mode" == smoke ]]; then
  # Every benchmark found must have run: BenchmarkDotNet announces each as "// Benchmark: <case>" and lists the ones
  # that failed, by the same text, under "Benchmarks with issues". The C harness is one more case.
  junit="${NI_RESULTS:-$root/artifacts/test-results/bench-smoke/benchmarks.xml}"
  rm -f "$junit"
  record() { python3 "$root/build/results.py" record "$junit" --suite benchmarks "$@"; }
  issues=$(sed -n '/^Benchmarks with issues:/,/^$/p' "$out/console.log" | sed -E 's/^[[:space:]]+//')
  passed=0 failed=0
  while IFS= read -r case; do
    if grep -qxF -- "$case" <<<"$issues"; then
      record --name "$case" --status fail --message "listed under 'Benchmarks with issues'" --log "$out/console.log"
      failed=$((failed + 1))
    else
      record --name "$case" --status pass; passed=$((passed + 1))
    fi
  done < <(sed -nE 's|^// Benchmark: (.*)$|\1|p' "$out/console.log")
  if [[ $((passed + failed)) -eq 0 ]]; then
    record --name "BenchmarkDotNet suite" --status fail --message "no benchmark ran" --log "$out/console.log"
    failed=1
  fi
  if [[ -n "${inprocess[*]}" ]]; then :  # not run on the .NET 11 lane
  elif [[ $harness_ok -eq 1 ]]; then record --name "C harness (ni_bench)" --status pass; passed=$((passed + 1))
  else record --name "C harness (ni_bench)" --status fail --message "ni_bench did not build or run"; failed=$((failed + 1)); fi
  echo "benchmarks: $passed passed, $failed failed, 0 skipped"
elif [[ $harness_ok -eq 0 ]]; then
  exit 1
fi
