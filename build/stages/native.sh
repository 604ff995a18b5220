#!/usr/bin/env bash
# Stage native-<rid>: the C library and its C tests for one RID, built with cmake/toolchains/<rid>.cmake into
# artifacts/native/<rid> (the directory NoInherit.Native.Build.csproj and the package use too) and run with CTest:
# natively, or under the toolchain's CMAKE_CROSSCOMPILING_EMULATOR (qemu-user, wine).
# With --compile-only (a RID nothing here can run), the library (with its ABI check) and the test programs are built,
# and that build is the stage's one result.
#   build/stages/native.sh <rid> [--compile-only]
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rid="${1:?usage: build/stages/native.sh <rid>}"
stage_init "native-$rid"
dir="$artifacts/native/$rid"

# macOS is built here only with zig cc (compile-only): the shipped macOS build would be Apple clang's (osx.cmake).
toolchain=("-DCMAKE_TOOLCHAIN_FILE=$root/cmake/toolchains/$rid.cmake")
[[ "$rid" == osx-* ]] && toolchain=("-DCMAKE_TOOLCHAIN_FILE=$root/cmake/toolchains/osx-zig.cmake")

build() {
  cmake -S "$root" -B "$dir" "${toolchain[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DNI_RID="$rid" -DBUILD_TESTING=ON \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$dir/bin" -DCMAKE_ARCHIVE_OUTPUT_DIRECTORY="$dir/bin" \
    -DCMAKE_RUNTIME_OUTPUT_DIRECTORY="$dir/bin" &&
  cmake --build "$dir" --parallel
}
if ! serialized build >"$logs/build.log" 2>&1; then
  failed build "build $rid" "$logs/build.log"
  exit 1
fi

if [[ "${2:-}" == --compile-only ]]; then
  record build "$rid: library, ABI check and C tests built (compile-only: nothing here runs $rid)" pass
  exit 0
fi

# Under wine a test process now and then dies at start-up (exit within ~10 ms, no output at all), so a failed case
# gets one more run there; the log keeps both attempts.
repeat=()
if [[ "$rid" == win-* ]]; then
  repeat=(--repeat until-pass:2)
  wine_ready
fi
run_ctest ctest "$dir" "${repeat[@]}"
exit 0
