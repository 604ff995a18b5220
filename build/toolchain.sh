#!/usr/bin/env bash
# Makes sure the tools for building (and, with --test, running) one RID are on this machine.
# Missing ones are installed from Debian's packages when running as root with apt-get; otherwise
# the script fails and says what to install.
#   build/toolchain.sh <rid> [--test]
set -euo pipefail
rid="${1:?usage: build/toolchain.sh <rid> [--test]}"
with_tests="${2:-}"

# program (or file):package pairs for building, then for running the tests
case "$rid" in
  linux-x64)      build=(cmake:cmake gcc:gcc make:make);                     run=() ;;
  linux-arm64)    build=(cmake:cmake aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu make:make
                         /usr/aarch64-linux-gnu/include/stdio.h:libc6-dev-arm64-cross)
                  run=(qemu-aarch64:qemu-user) ;;
  linux-musl-x64) build=(cmake:cmake musl-gcc:musl-tools make:make);         run=() ;;
  win-x64)        build=(cmake:cmake x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 make:make)
                  run=(/usr/lib/wine/wine64:wine64) ;;
  osx-*)          echo "toolchain: $rid needs Apple's clang (Xcode); it cannot be built on this machine" >&2; exit 1 ;;
  *)              echo "toolchain: unknown RID '$rid'" >&2; exit 1 ;;
esac
wanted=("${build[@]}")
[[ "$with_tests" == "--test" ]] && wanted+=("${run[@]}")

missing=()
for pair in "${wanted[@]}"; do
  tool="${pair%%:*}"
  if [[ "$tool" == /* ]]; then [[ -e "$tool" ]] || missing+=("${pair#*:}")
  else command -v "$tool" >/dev/null 2>&1 || missing+=("${pair#*:}"); fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "toolchain: installing for $rid: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "toolchain: building $rid needs the Debian packages: ${missing[*]}" >&2
echo "toolchain: install them with: sudo apt-get install ${missing[*]}" >&2
exit 1
