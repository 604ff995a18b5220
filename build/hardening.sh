#!/usr/bin/env bash
# The hardening jobs (issue 8), on linux-x64:
#   1. the C tests (CTest) built with AddressSanitizer + UndefinedBehaviorSanitizer (gcc; LeakSanitizer
#      on; any report aborts the case);
#   2. the C tests under valgrind memcheck, every case checked for memory errors, leaks and descriptors
#      left open (cmake/memcheck.sh);
#   3. a bounded libFuzzer run of tests/fuzz/fuzz_abi (clang, with ASan + UBSan) from the seed corpus:
#      one passed test when it ends without a crash, NI_FUZZ_SECONDS long (60 by default).
# Prints one line per job as build/test.sh does (build/summary.sh), then "hardening: N passed, N failed, N skipped".
# Run as root with apt-get, it installs what is missing (valgrind, clang, libclang-rt-14-dev).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$root/artifacts/hardening"
logs="$root/artifacts/test-logs"
mkdir -p "$work" "$logs"
fuzz_seconds="${NI_FUZZ_SECONDS:-60}"

# shellcheck source=summary.sh
source "$root/build/summary.sh"

# The tools, from Debian's packages when they are missing and we may install them.
missing=()
for package in valgrind clang libclang-rt-14-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "hardening: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "hardening: needs the Debian packages ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  fi
fi

# configure_and_build DIR LOG TARGET CMAKE-ARGS...
configure_and_build() {
  local dir="$1" log="$2" target="$3"; shift 3
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNI_RID=linux-x64 "$@" >"$log" 2>&1 &&
    cmake --build "$dir" --parallel 2 ${target:+--target "$target"} >>"$log" 2>&1
}

# ctest_job NAME DIR LOG: runs the suite of DIR and adds its counts, as build/test.sh does.
ctest_job() {
  local name="$1" dir="$2" log="$3"
  ctest --test-dir "$dir" --output-on-failure --parallel 2 >"$log" 2>&1
  add_ctest "$name" "$log" "$dir"
}

echo "== C tests linux-x64 with AddressSanitizer + UndefinedBehaviorSanitizer"
log="$logs/hardening-asan-build.log"
if configure_and_build "$work/asan" "$log" "" -DBUILD_TESTING=ON -DNI_SANITIZE=address,undefined; then
  ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest_job "C tests linux-x64 ASan+UBSan (CTest)" "$work/asan" "$logs/hardening-asan.log"
else
  fail_suite "C tests linux-x64 ASan+UBSan (CTest)" "$log"
fi

echo "== C tests linux-x64 under valgrind memcheck (--track-fds=yes)"
log="$logs/hardening-valgrind-build.log"
if command -v valgrind >/dev/null 2>&1 &&
   configure_and_build "$work/valgrind" "$log" "" -DBUILD_TESTING=ON -DNI_VALGRIND=ON; then
  ctest_job "C tests linux-x64 valgrind memcheck (CTest)" "$work/valgrind" "$logs/hardening-valgrind.log"
else
  echo "valgrind: $(command -v valgrind || echo missing)" >>"$log"
  fail_suite "C tests linux-x64 valgrind memcheck (CTest)" "$log"
fi

echo "== libFuzzer: tests/fuzz/fuzz_abi for ${fuzz_seconds} s"
log="$logs/hardening-fuzz-build.log"
name="fuzz fuzz_abi ${fuzz_seconds} s (libFuzzer, ASan+UBSan)"
if command -v clang >/dev/null 2>&1 &&
   CC=clang configure_and_build "$work/fuzz" "$log" fuzz_abi -DBUILD_TESTING=OFF -DNI_SANITIZE=address,undefined \
     -DNI_BUILD_FUZZERS=ON; then
  run="$work/fuzz-run"
  rm -rf "$run" && mkdir -p "$run/corpus" "$run/crashes" "$run/tmp"
  # From the seeds every time, so that each run is the same job. The target's scratch directory lives
  # under TMPDIR; it is the only place it writes to.
  TMPDIR="$run/tmp" timeout $((fuzz_seconds + 120)) "$work/fuzz/tests/fuzz/fuzz_abi" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -max_total_time="$fuzz_seconds" -print_final_stats=1 -artifact_prefix="$run/crashes/" \
    "$run/corpus" "$root/tests/fuzz/corpus" >"$logs/hardening-fuzz.log" 2>&1
  rc=$?
  crashes=$(find "$run/crashes" -type f | wc -l)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$logs/hardening-fuzz.log" | tail -1)
  final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/hardening-fuzz.log" | tail -1)
  if [[ $rc -eq 0 && $crashes -eq 0 && -n "$runs" ]]; then
    add "$name" 1 0 0
    echo "   ${runs} inputs, $(sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [0-9]+\/[^ ]+).*/\1/' <<<"$final"), 0 crashes"
  else
    echo "!! fuzz_abi: exit $rc, $crashes crash file(s) in $run/crashes" >&2
    grep -E 'invariant broken|ERROR:|SUMMARY:|runtime error' "$logs/hardening-fuzz.log" | head -5 >&2
    add "$name" 0 1 0
  fi
  rm -rf "$run/tmp"
else
  echo "clang: $(command -v clang || echo missing)" >>"$log"
  fail_suite "$name" "$log"
fi

echo "hardening: $total_passed passed, $total_failed failed, $total_skipped skipped"
[[ $total_failed -eq 0 ]]
