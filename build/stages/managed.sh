#!/usr/bin/env bash
# Stages managed-<lane>: the xunit v3 suite (tests/NoInherit.Native.Tests) on one runtime, its results as JUnit XML.
#   net10       net10.0, framework-dependent, on the host
#   net8        net8.0, published self-contained for the host RID, so it runs on .NET 8 itself
#   net11       the net10.0 build on the .NET 11 runtime (build/dotnet11.sh: no SDK 11 exists here), where the
#               differential tests run the same child through .NET 11's Process and ChildProcess
#   wine        net10.0, self-contained win-x64, under wine64
#   wine-x86    net10.0, self-contained win-x86, under 32-bit wine (wine32)
#   qemu-arm64  net10.0, self-contained linux-arm64, under qemu-aarch64
#   qemu-arm    net10.0, self-contained linux-arm, under qemu-arm, when the package source has the linux-arm runtime
#               pack (a skip naming it otherwise)
#   build/stages/managed.sh <lane>
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lane="${1:?usage: build/stages/managed.sh net10|net8|net11|wine|wine-x86|qemu-arm64|qemu-arm}"
stage_init "managed-$lane"
tests="$root/tests/NoInherit.Native.Tests"
limit=900

# The net10.0 build for the host: the net10 lane runs it, and the emulated lanes publish with --no-dependencies, which
# takes the library and the tool from it. Built once per run, whichever lane comes first.
build_net10() {
  once managed-net10-build serialized dotnet build "$tests" -c Release -f net10.0 >"$logs/build.log" 2>&1 ||
    { failed "$1" "dotnet build (net10.0)" "$logs/build.log"; exit 1; }
}

# publish_emulated RID SUITE: the suite self-contained for a foreign RID, into artifacts/tests/net10.0-RID. net10.0 only
# (NiTestFrameworks): a self-contained restore would otherwise want each RID's .NET 8 runtime pack as well, which the
# package source lacks for linux-arm64; --no-dependencies restores the test project alone, so the library and the tool
# keep their ordinary (RID-less) restore.
# The RID's native library is built first (configured with its toolchain file when nothing has configured it yet):
# --no-dependencies builds no project reference, and the test project takes the library (and on Windows the probe) from
# that build. With a third argument, a publish whose restore finds no runtime pack for the RID (NU1101) records the
# suite as skipped, naming the package, and ends the stage.
# restore_and_publish RID: the library is not RID-agnostic (the app's RID picks its native library), so the publish
# reads its assets for net10.0/RID, which only a restore for the RID writes; both under one hold of the build lock, so
# that no other stage's restore rewrites them in between (each build restores what it needs again).
restore_and_publish() {
  dotnet restore "$root/managed/NoInherit.Native/NoInherit.Native.csproj" --no-dependencies -r "$1" \
    -p:SelfContained=true -p:TargetFrameworks=net10.0 &&
    dotnet publish "$tests" -c Release -f net10.0 -r "$1" --self-contained -p:NiTestFrameworks=net10.0 \
      --no-dependencies -o "$artifacts/tests/net10.0-$1"
}

publish_emulated() {
  build_net10 "$2"
  serialized dotnet build "$root/build/NoInherit.Native.Build.csproj" -c Release -p:NiRid="$1" >"$logs/native.log" 2>&1 ||
    { failed "$2" "the native build ($1)" "$logs/native.log"; exit 1; }
  serialized restore_and_publish "$1" >"$logs/publish.log" 2>&1 && return 0
  local pack="Microsoft.NETCore.App.Runtime.$1"
  if [[ -n "${3:-}" ]] && grep -q "error NU1101: Unable to find package $pack\." "$logs/publish.log"; then
    record "$2" "$3" skip "no .NET runtime for $1: the package source here serves no $pack (NU1101), so no \
self-contained $1 app can be published"
    exit 0
  fi
  failed "$2" "dotnet publish ($1)" "$logs/publish.log"
  exit 1
}

# qemu_suite RID SUITE EMULATOR SYSROOT OPENSSL: the suite under qemu-user. The cross sysroot (-L) has no ICU, so
# globalization is invariant, and no OpenSSL, which xunit needs (SHA-256 of test IDs): build/prereqs.sh unpacks Debian's
# libssl3 for the RID (nothing installed) for the guest's LD_LIBRARY_PATH. W^X is off: with it, the runtime writes JIT'd
# code and patches stubs through a second, writable mapping of the executable memory, which qemu-user does not watch
# for self-modifying code, so it goes on running stale translations (seen as a NullReferenceException inside a
# reflection stub, then SIGSEGV, within seconds).
qemu_suite() {
  rerun_hung=1 run_xunit "$2" "$limit" \
    env DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_EnableWriteXorExecute=0 "$3" -L "$4" -E LD_LIBRARY_PATH="$5" \
    "$artifacts/tests/net10.0-$1/NoInherit.Native.Tests"
}

case "$lane" in
  net10)
    build_net10 "net10.0-$host_rid"
    run_xunit "net10.0-$host_rid" "$limit" "$tests/bin/Release/net10.0/NoInherit.Native.Tests" ;;
  net8)
    out="$artifacts/tests/net8.0-$host_rid"
    serialized dotnet publish "$tests" -c Release -f net8.0 -r "$host_rid" --self-contained -o "$out" \
      >"$logs/publish.log" 2>&1 || { failed "net8.0-$host_rid" "dotnet publish (net8.0)" "$logs/publish.log"; exit 1; }
    run_xunit "net8.0-$host_rid" "$limit" "$out/NoInherit.Native.Tests" ;;
  net11)
    build_net10 "net11.0-$host_rid"
    dotnet11="$(bash "$root/build/dotnet11.sh" root 2>"$logs/dotnet11.log")" ||
      { failed "net11.0-$host_rid" "the .NET 11 runtime layout (build/dotnet11.sh root)" "$logs/dotnet11.log"; exit 1; }
    run_xunit "net11.0-$host_rid" "$limit" env DOTNET_ROOT="$dotnet11" DOTNET_ROLL_FORWARD=LatestMajor \
      DOTNET_MULTILEVEL_LOOKUP=0 "$dotnet11/dotnet" "$tests/bin/Release/net10.0/NoInherit.Native.Tests.dll" ;;
  wine|wine-x86)
    # The two wine problems this run meets (a crash or hang once a second test throws, and at DynamicMethod clean-up)
    # are handled in the test project's runtimeconfig for Windows RIDs; see NoInherit.Native.Tests.csproj. Each lane has
    # a (win64) prefix of its own (see wine_ready); 32-bit programs run in theirs through wine32's loader.
    rid=win-x64 loader=/usr/lib/wine/wine64
    [[ "$lane" == wine-x86 ]] && rid=win-x86 loader=/usr/lib/wine/wine
    publish_emulated "$rid" "net10.0-$rid"
    wine_ready "$rid"
    # Wine's own fault, retried (run_xunit's retry_failed): now and then a new process dies while wine starts it, before
    # any code of its own runs, and the start fails with ERROR_INTERNAL_ERROR ("Internal error."; wine's
    # NtCreateUserProcess when the process is gone before its start-up completed). Seen once in 32 suite runs here,
    # two lanes side by side, in the BCL's Process.Start; ours would meet it the same way. The C tests under wine
    # retry for the same reason (native.sh).
    wine_paths=1 rerun_hung=1 after_hang=wine_reset retry_failed='start process .* Internal error\.' \
      run_xunit "net10.0-$rid" "$limit" "$loader" "$artifacts/tests/net10.0-$rid/NoInherit.Native.Tests.exe" ;;
  qemu-arm64)
    publish_emulated linux-arm64 net10.0-linux-arm64
    qemu_suite linux-arm64 net10.0-linux-arm64 qemu-aarch64 /usr/aarch64-linux-gnu \
      "$(bash "$root/build/prereqs.sh" --path arm64-openssl)" ;;
  qemu-arm)
    publish_emulated linux-arm net10.0-linux-arm "the managed suite under qemu-arm"
    qemu_suite linux-arm net10.0-linux-arm qemu-arm /usr/arm-linux-gnueabihf \
      "$(bash "$root/build/prereqs.sh" --path armhf-openssl)" ;;
  *) echo "managed.sh: unknown lane '$lane'" >&2; exit 2 ;;
esac
exit 0
