#!/usr/bin/env bash
# Prints the .NET runtime identifier of this machine (linux-x64, linux-musl-arm64, osx-arm64, win-x64, ...), the RID
# whose native library and tests run here without an emulator. From uname, and on Linux from the C library the shell
# itself runs on (musl or glibc), as .NET's own RuntimeInformation.RuntimeIdentifier reports it.
set -euo pipefail
case "$(uname -m)" in
  x86_64|amd64)  arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  armv7*|armv6*|armhf) arch=arm ;;
  i?86)          arch=x86 ;;
  *)             echo "host-rid: unknown machine '$(uname -m)'" >&2; exit 1 ;;
esac
case "$(uname -s)" in
  Linux)
    # The dynamic loader that runs this shell names the C library: ld-musl-* for musl.
    if ldd /bin/sh 2>/dev/null | grep -q 'ld-musl' || ldd --version 2>&1 | grep -qi musl; then os=linux-musl; else os=linux; fi ;;
  Darwin) os=osx ;;
  MINGW*|MSYS*|CYGWIN*) os=win ;;
  *) echo "host-rid: unknown system '$(uname -s)'" >&2; exit 1 ;;
esac
echo "$os-$arch"
