#!/usr/bin/env bash
# Builds everything from nothing and runs every test suite:
#   - the C tests (CTest) for every shipped RID: natively (linux-x64, linux-musl-x64), under
#     qemu-aarch64 (linux-arm64) and under wine64 (win-x64);
#   - the hardening jobs (build/hardening.sh): the linux-x64 C tests with ASan+UBSan and under valgrind,
#     and a one-minute libFuzzer run;
#   - the managed xunit tests on net10.0 and, self-contained, on .NET 8; then self-contained on net10.0 for
#     win-x64 under wine64 and for linux-arm64 under qemu-aarch64;
#   - the package: dotnet pack, then a fresh app consuming the .nupkg every way users do;
#   - the LeakDemo sample;
#   - the benchmarks, once each (benchmarks/run.sh --smoke): that they run, not how fast.
# The last line sums all suites as "tests: N passed, N failed, N skipped".
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
host_rid="linux-x64"
logs="$root/artifacts/test-logs"
mkdir -p "$logs"
export WINEDEBUG=-all DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1

# shellcheck source=summary.sh
source "$root/build/summary.sh"

# bounded LIMIT COMMAND...: runs COMMAND in a session of its own, stdin /dev/null, for at most LIMIT seconds. One
# that overstays is hung: before its processes are killed, what each of their threads is blocked in goes to stderr,
# since a hung run prints nothing of its own. Returns COMMAND's status, or 124 after a hang.
bounded() {
  local limit="$1"; shift
  setsid "$@" </dev/null &
  local pid=$! waited=0
  while kill -0 "$pid" 2>/dev/null && ((waited < limit)); do sleep 1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "!! still running after $limit s; its processes, and each thread's state and kernel wait channel:" >&2
    ps -o pid,ppid,stat,etimes,args -s "$pid" >&2
    local task t
    for task in $(ps -o pid= -s "$pid"); do
      for t in /proc/"$task"/task/*; do
        echo "   $task/${t##*/} $(cut -d' ' -f3 "$t/stat" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null) $(cat "$t/comm" 2>/dev/null)"
      done
    done >&2
    kill -KILL -- -"$pid" 2>/dev/null
    wait "$pid"
    return 124
  fi
  wait "$pid"
}

# long_running LOG: the tests xunit named as running over its -longRunning limit.
long_running() {
  grep -E '\[Long Running Test\]' "$1" | tr -d '\r' | sed -E 's/\x1b\[[0-9;]*m//g; s/^[[:space:]]*/   /' | sort -u || true
}

# run_xunit SUITE LOG LIMIT COMMAND...: runs the xunit v3 runner COMMAND (bounded), which ends with
# "NAME  Total: N, Errors: N, Failed: N, Skipped: N, Not Run: N, Time: ...". A test still running after two minutes is
# named in the log ("[Long Running Test]"), so a hung run says which test hung. With rerun_hung=1 (the emulated runs), a
# run that hung is shown, kept as LOG.hung, and run once more: an emulator has hung where nothing else did (the
# linux-arm64 suite under qemu-user, once in CI, in no run here); a run that fails, or hangs twice, still fails.
run_xunit() {
  local suite="$1" log="$2" limit="$3"; shift 3
  bounded "$limit" "$@" -longRunning 120 >"$log" 2>&1
  local rc=$? line
  if [[ $rc -eq 124 && "${rerun_hung:-0}" == 1 ]]; then
    echo "!! $suite hung: still running after $limit s; kept as $log.hung, run once more"
    long_running "$log"
    sed -n '/^!! still running after/,$p' "$log" | head -80 | sed 's/^/   /'
    mv "$log" "$log.hung"
    bounded "$limit" "$@" -longRunning 120 >"$log" 2>&1
    rc=$?
  fi
  long_running "$log"
  line=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+, Not Run: [0-9]+' "$log" | tail -1)
  if [[ -z "$line" ]]; then fail_suite "$suite (exit $rc)" "$log"; return; fi
  local t e f s n
  read -r t e f s n < <(sed -E 's/.*Total: ([0-9]+), Errors: ([0-9]+), Failed: ([0-9]+), Skipped: ([0-9]+), Not Run: ([0-9]+).*/\1 \2 \3 \4 \5/' <<<"$line")
  add "$suite" $((t - f - s - n)) $((f + e + n)) "$s"
  # Each failure with its message (up to the stack trace), so that CI's output alone says why.
  awk '/\[FAIL\]/ { shown = 0; printing = 1; print; next }
       printing && (/Stack Trace:/ || /\[(PASS|SKIP|FAIL)\]/ || ++shown > 8) { printing = 0 }
       printing { print }' "$log" | tr -d '\r' | sed -E 's/\x1b\[[0-9;]*m//g' | head -60 || true
  # Why tests were skipped: each distinct reason (the line after a [SKIP]) with how many tests gave it.
  grep -A1 -E '\[SKIP\]' "$log" | tr -d '\r' | grep -vE '\[SKIP\]|^--$' | sed -E 's/^[[:space:]]+//' | sort | uniq -c | sort -rn |
    sed -E 's/^[[:space:]]*([0-9]+) /   skipped \1: /' || true
  if [[ $rc -ne 0 && $((f + e + n)) -eq 0 ]]; then fail_suite "$suite (exit $rc)" "$log"; fi
}

rids=$(dotnet msbuild "$root/build/NoInherit.Native.Build.csproj" -getProperty:NiShippedRids 2>/dev/null | tail -1)
[[ -n "$rids" ]] || { echo "cannot read NiShippedRids" >&2; rids="$host_rid"; }

for rid in ${rids//;/ }; do
  echo "== native $rid: build, CTest"
  native="$root/artifacts/native/$rid"
  log="$logs/native-$rid.log"
  if bash build/toolchain.sh "$rid" --test >"$log" 2>&1 &&
     cmake -S "$root" -B "$native" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/$rid.cmake" \
        -DCMAKE_BUILD_TYPE=Release -DNI_RID="$rid" -DBUILD_TESTING=ON \
        -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$native/bin" -DCMAKE_ARCHIVE_OUTPUT_DIRECTORY="$native/bin" \
        -DCMAKE_RUNTIME_OUTPUT_DIRECTORY="$native/bin" >>"$log" 2>&1 &&
     cmake --build "$native" --parallel >>"$log" 2>&1; then
    # Under wine a test process now and then dies at start-up (exit within ~10 ms, no output at all), so
    # a failed case gets one more run there; the log keeps both attempts.
    repeat=()
    [[ "$rid" == win-* ]] && repeat=(--repeat until-pass:2)
    ctest --test-dir "$native" --output-on-failure --parallel 2 "${repeat[@]}" >"$logs/ctest-$rid.log" 2>&1
    add_ctest "C tests $rid (CTest)" "$logs/ctest-$rid.log" "$native"
  else
    fail_suite "C tests $rid (CTest)" "$log"
  fi
done

# The hardening jobs (build/hardening.sh): the C tests under ASan+UBSan and under valgrind memcheck, and a
# bounded fuzz run; its job lines are shown, its last line is summed like a suite's.
echo "== hardening: ASan+UBSan, valgrind memcheck, libFuzzer ($host_rid)"
bash "$root/build/hardening.sh" >"$logs/hardening.log" 2>&1
grep -E '^[^ !].*: +[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$|^[[:space:]]|^!!' "$logs/hardening.log" |
  grep -v '^hardening: ' | sed 's/^/   /'
add_summary "hardening (sanitizers, valgrind, fuzz)" hardening "$logs/hardening.log"

tests="$root/tests/NoInherit.Native.Tests"
echo "== managed: xunit on net10.0 ($host_rid)"
log="$logs/managed-build.log"
if dotnet build "$tests" -c Release -f net10.0 >"$log" 2>&1; then
  run_xunit "managed tests net10.0 $host_rid" "$logs/managed-net10.log" 900 \
    "$tests/bin/Release/net10.0/NoInherit.Native.Tests"
else
  fail_suite "managed tests net10.0 $host_rid" "$log"
fi

echo "== managed: xunit on net8.0, self-contained $host_rid"
log="$logs/managed-net8-publish.log"
net8="$root/artifacts/tests/net8.0-$host_rid"
if dotnet publish "$tests" -c Release -f net8.0 -r "$host_rid" --self-contained -o "$net8" >"$log" 2>&1; then
  run_xunit "managed tests net8.0 $host_rid (self-contained)" "$logs/managed-net8.log" 900 "$net8/NoInherit.Native.Tests"
else
  fail_suite "managed tests net8.0 $host_rid (self-contained)" "$log"
fi

# The same suite, self-contained for the emulated RIDs. net10.0 only (NiTestFrameworks): a self-contained restore would
# otherwise want each RID's .NET 8 runtime pack as well, which the package source lacks for linux-arm64; --no-dependencies
# restores the test project alone, so the library and the tool keep their ordinary (RID-less) restore.
publish_emulated() { # RID OUTPUT LOG
  dotnet publish "$tests" -c Release -f net10.0 -r "$1" --self-contained -p:NiTestFrameworks=net10.0 --no-dependencies \
    -o "$2" >"$3" 2>&1
}

echo "== managed: xunit on net10.0, self-contained win-x64, under wine64"
log="$logs/managed-win-x64-publish.log"
win="$root/artifacts/tests/net10.0-win-x64"
# The two wine problems this run meets (a crash or hang once a second test throws, and at DynamicMethod clean-up) are
# handled in the test project's runtimeconfig for Windows RIDs; see NoInherit.Native.Tests.csproj.
if publish_emulated win-x64 "$win" "$log"; then
  rerun_hung=1 run_xunit "managed tests net10.0 win-x64 (wine64)" "$logs/managed-win-x64.log" 900 \
    /usr/lib/wine/wine64 "$win/NoInherit.Native.Tests.exe"
else
  fail_suite "managed tests net10.0 win-x64 (wine64)" "$log"
fi

echo "== managed: xunit on net10.0, self-contained linux-arm64, under qemu-aarch64"
log="$logs/managed-linux-arm64-publish.log"
arm64="$root/artifacts/tests/net10.0-linux-arm64"
# The cross sysroot (-L) has no arm64 ICU, so globalization is invariant, and no OpenSSL, which xunit needs (SHA-256 of
# test IDs): build/arm64-openssl.sh unpacks Debian's arm64 libssl3 (nothing installed) for the guest's LD_LIBRARY_PATH.
# W^X is off: with it, the runtime writes JIT'd code and patches stubs through a second, writable mapping of the
# executable memory, which qemu-user does not watch for self-modifying code, so it goes on running stale translations
# (seen as a NullReferenceException inside a reflection stub, then SIGSEGV, within seconds; without W^X the run is clean).
if publish_emulated linux-arm64 "$arm64" "$log" &&
   openssl_arm64=$(bash "$root/build/arm64-openssl.sh" "$root/artifacts/qemu/linux-arm64-openssl" 2>>"$log"); then
  rerun_hung=1 run_xunit "managed tests net10.0 linux-arm64 (qemu-aarch64)" "$logs/managed-linux-arm64.log" 900 \
    env DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_EnableWriteXorExecute=0 \
    qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH="$openssl_arm64" "$arm64/NoInherit.Native.Tests"
else
  fail_suite "managed tests net10.0 linux-arm64 (qemu-aarch64)" "$log"
fi

echo "== package: dotnet pack, consumption tests"
log="$logs/pack.log"
if dotnet pack "$root/managed/NoInherit.Native" -c Release >"$log" 2>&1; then
  bash "$root/tests/Packaging/run.sh" >"$logs/packaging.log" 2>&1
  grep -E '^(PASS|FAIL) ' "$logs/packaging.log" | sed 's/^/   /'
  add_summary "package consumption" packaging "$logs/packaging.log"
else
  fail_suite "package consumption" "$log"
fi

echo "== sample: LeakDemo"
log="$logs/leakdemo.log"
if dotnet run --project "$root/samples/LeakDemo" -c Release >"$log" 2>&1; then
  add "LeakDemo" 1 0 0
else
  fail_suite "LeakDemo" "$log"
fi

echo "== benchmarks: smoke run (every benchmark executes once; no timing is checked)"
log="$logs/benchmarks-smoke.log"
bash "$root/benchmarks/run.sh" --smoke >"$log" 2>&1
add_summary "benchmarks (smoke)" benchmarks "$log"
sed -n '/^Benchmarks with issues:/,/^$/p' "$log"

echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
[[ $total_failed -eq 0 ]]
