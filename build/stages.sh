# The stages of build/test.sh (sourced, not run), in the order they start: the longest first (the hardening runs, the
# qemu lane, the package's consumption publishes), so that they overlap with the builds and runs of the others.
# A new stage is one line here, a script in build/stages/, and its needs in build/prereqs.sh (docs/build.md says how).

# ni_shipped_rids: the RIDs the package ships (NiShippedRids in Directory.Build.props, the one list of them).
ni_shipped_rids() {
  sed -nE 's|.*<NiShippedRids>([^<]*)</NiShippedRids>.*|\1|p' "$(dirname "${BASH_SOURCE[0]}")/../Directory.Build.props" |
    tr ';' ' '
}

# RIDs whose programs nothing on this machine can run: their native stage only builds them (native.sh --compile-only).
ni_compile_only_rids="win-arm64 osx-x64 osx-arm64"

# ni_stages: one line per stage, "NAME|SCRIPT ARGUMENTS|WHAT IT RUNS" (SCRIPT in build/stages/).
ni_stages() {
  local rid
  echo "hardening|hardening.sh|C tests under ASan+UBSan and under valgrind memcheck; a libFuzzer run beside them"
  echo "managed-qemu-arm64|managed.sh qemu-arm64|xunit suite, net10.0 self-contained linux-arm64, under qemu-aarch64"
  echo "managed-qemu-arm|managed.sh qemu-arm|xunit suite, net10.0 self-contained linux-arm, under qemu-arm (when its runtime pack is served)"
  echo "package|package.sh|dotnet pack, then a fresh app consumes the .nupkg every way users do"
  echo "powercut|powercut.sh|the power-cut test of durable copies: a VM records every block write, each crash state is checked"
  echo "vendoring|vendoring.sh|apps outside the repository reference NoInherit.Native.csproj: run, self-contained, NativeAOT"
  for rid in $(ni_shipped_rids); do
    if [[ " $ni_compile_only_rids " == *" $rid "* ]]; then
      echo "native-$rid|native.sh $rid --compile-only|C library and C tests for $rid, built only (nothing here runs it)"
    else
      echo "native-$rid|native.sh $rid|C library and C tests (CTest) for $rid"
    fi
  done
  # Not shipped, compiled so that the non-Linux POSIX branches (no SOCK_CLOEXEC, accept4, pipe2, /proc) keep building.
  for rid in osx-x64 osx-arm64; do
    echo "native-$rid|native.sh $rid --compile-only|C library and C tests for $rid with zig cc, built only (not shipped)"
  done
  echo "managed-net10|managed.sh net10|xunit suite on net10.0, framework-dependent, on the host"
  echo "managed-wine|managed.sh wine|xunit suite, net10.0 self-contained win-x64, under wine64"
  echo "managed-wine-x86|managed.sh wine-x86|xunit suite, net10.0 self-contained win-x86, under 32-bit wine"
  echo "managed-net11|managed.sh net11|xunit suite (the net10.0 build) on the .NET 11 runtime, beside .NET 11's Process"
  echo "managed-net8|managed.sh net8|xunit suite on net8.0, self-contained for the host RID (runs on .NET 8)"
  echo "leakdemo|leakdemo.sh|the LeakDemo sample runs to its end"
  echo "bench-smoke|bench-smoke.sh|every benchmark once, in process (benchmarks/run.sh --smoke): that each runs"
}
