#!/usr/bin/env bash
# Stage hardening, on the host (Linux):
#   asan      the C tests (CTest) built with AddressSanitizer + UndefinedBehaviorSanitizer (gcc; LeakSanitizer on; any
#             report aborts the case);
#   valgrind  the C tests under valgrind memcheck, every case checked for memory errors, leaks and descriptors left
#             open (cmake/memcheck.sh);
#   fuzz      a bounded libFuzzer run of tests/fuzz/fuzz_abi (clang, ASan + UBSan) from the seed corpus: one passed
#             test when it ends without a crash. It executes NI_FUZZ_RUNS inputs (200,000 by default, about a minute
#             of one idle core), or as many as NI_FUZZ_SECONDS allow (180 by default): a fixed amount of work that
#             other stages running beside it slow down but do not cut short.
#   build/stages/hardening.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stage_init hardening
work="$artifacts/hardening"
fuzz_runs="${NI_FUZZ_RUNS:-200000}" fuzz_seconds="${NI_FUZZ_SECONDS:-180}"

# configure_and_build DIR TARGET CMAKE-ARGS...
configure_and_build() {
  local dir="$1" target="$2"; shift 2
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNI_RID="$host_rid" "$@" &&
    cmake --build "$dir" --parallel 2 ${target:+--target "$target"}
}

# The three builds first (holding the build lock), then the fuzzer (one core for a fixed time) beside the two CTest runs.
serialized configure_and_build "$work/asan" "" -DBUILD_TESTING=ON -DNI_SANITIZE=address,undefined \
  >"$logs/asan-build.log" 2>&1; asan_built=$?
serialized configure_and_build "$work/valgrind" "" -DBUILD_TESTING=ON -DNI_VALGRIND=ON \
  >"$logs/valgrind-build.log" 2>&1; valgrind_built=$?
CC=clang serialized configure_and_build "$work/fuzz" fuzz_abi -DBUILD_TESTING=OFF -DNI_SANITIZE=address,undefined \
  -DNI_BUILD_FUZZERS=ON >"$logs/fuzz-build.log" 2>&1; fuzz_built=$?

asan() {
  if [[ $asan_built -ne 0 ]]; then failed asan "build (ASan+UBSan)" "$logs/asan-build.log"; return; fi
  ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_ctest asan "$work/asan"
}

valgrind() {
  if [[ $valgrind_built -ne 0 ]]; then failed valgrind "build (valgrind)" "$logs/valgrind-build.log"; return; fi
  run_ctest valgrind "$work/valgrind"
}

fuzz() {
  local name="fuzz_abi, $fuzz_runs inputs or $fuzz_seconds s (libFuzzer, ASan+UBSan)" run="$work/fuzz-run" log="$logs/fuzz.log"
  if [[ $fuzz_built -ne 0 ]]; then failed fuzz "build (libFuzzer)" "$logs/fuzz-build.log"; return; fi
  rm -rf "$run" && mkdir -p "$run/corpus" "$run/crashes" "$run/tmp"
  # From the seeds every time, so that each run is the same job. The target's scratch directory lives under TMPDIR;
  # it is the only place it writes to.
  TMPDIR="$run/tmp" timeout $((fuzz_seconds + 120)) "$work/fuzz/tests/fuzz/fuzz_abi" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -runs="$fuzz_runs" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
    -artifact_prefix="$run/crashes/" "$run/corpus" "$root/tests/fuzz/corpus" >"$log" 2>&1
  local rc=$? crashes runs final
  crashes=$(find "$run/crashes" -type f | wc -l)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  if [[ $rc -eq 0 && $crashes -eq 0 && -n "$runs" ]]; then
    record fuzz "$name" pass
    echo "   fuzz: ${runs} inputs, $(sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [0-9]+\/[^ ]+).*/\1/' <<<"$final"), 0 crashes"
  else
    record fuzz "$name" fail "exit $rc, $crashes crash file(s) in ${run#"$root"/}/crashes: $(grep -E \
      'invariant broken|ERROR:|SUMMARY:|runtime error' "$log" | head -5)" "$log"
  fi
  rm -rf "$run/tmp"
}

fuzz &
asan
valgrind
wait
exit 0
