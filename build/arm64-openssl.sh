#!/usr/bin/env bash
# Gives the linux-arm64 runs under qemu-aarch64 an arm64 OpenSSL, and prints the directory that holds it (for the
# guest's LD_LIBRARY_PATH: qemu-aarch64 -E LD_LIBRARY_PATH=<it>).
#   build/arm64-openssl.sh <directory to unpack into>
#
# .NET on Linux computes SHA-256 with OpenSSL, and xunit v3 hashes every test's ID with it: without an arm64 libssl
# the runtime aborts the test process at discovery ("No usable version of libssl was found"). The cross toolchain's
# sysroot (/usr/aarch64-linux-gnu, qemu's -L) has no OpenSSL, and Debian has no arm64-cross package of it. Installing
# libssl3:arm64 through multiarch would also install libc6:arm64 into /lib/aarch64-linux-gnu, which every qemu -L run
# (the C tests too) would then load beside the sysroot's own, different, ld.so. So Debian's libssl3 for arm64 is only
# downloaded, with a private apt state (the machine's apt configuration and dpkg database stay as they are), and unpacked
# here; nothing is installed.
set -euo pipefail
dest="${1:?usage: build/arm64-openssl.sh <directory>}"
libdir="$dest/usr/lib/aarch64-linux-gnu"
if [[ -e "$libdir/libssl.so.3" && -e "$libdir/libcrypto.so.3" ]]; then
  echo "$libdir"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
  { echo "arm64-openssl: needs apt-get and dpkg-deb (Debian) to fetch libssl3:arm64" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
apt=(-o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::State::Lists="$work/lists"
     -o Dir::Cache="$work/cache" -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
apt-get "${apt[@]}" update -qq >&2
(cd "$work/deb" && apt-get "${apt[@]}" download libssl3 >&2)
mkdir -p "$dest"
dpkg-deb -x "$work"/deb/libssl3_*_arm64.deb "$dest"
[[ -e "$libdir/libssl.so.3" ]] || { echo "arm64-openssl: libssl3's package has no $libdir/libssl.so.3" >&2; exit 1; }
echo "$libdir"
