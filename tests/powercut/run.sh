#!/usr/bin/env bash
# The power-cut test (CrashMonkey / ALICE method) of NI_COPY_DURABLE: boots Debian's kernel under KVM with a
# small initramfs (busybox-static and the static guest program, tests/powercut/*.c, linked with
# libnoinherit.a), records every block write of a copy workload with dm-log-writes, replays the log to every
# flush/FUA entry and points between them, and checks each crash state (powercut.h says what is checked).
#
#   tests/powercut/run.sh [--junit FILE]          (POWERCUT_CASES="ext4.durable xfs.durable" for some cases only)
#
# One case per file system and mode: ext4 (with its journal), ext4-nojournal (mounted with discard; each crash
# state goes through e2fsck -fy before it is mounted, as at boot) and XFS, durable and not. Prints
# "PASS|FAIL|SKIP powercut.<fs>.<mode> ..." per case and ends with "powercut: N passed, N failed, N skipped".
# Uses KVM where it can (else qemu's TCG: about 6 minutes for the six cases on 2 cores). Needs qemu-system-x86,
# busybox-static, xfsprogs and e2fsprogs (build/prereqs.sh powercut), and downloads the kernel package (not
# installed: unpacked) into artifacts/powercut/, where the kernel and initramfs stay cached.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/artifacts/powercut"
junit=""
[[ "${1:-}" == "--junit" ]] && junit="${2:?--junit needs a file}"
mkdir -p "$out"
passed=0 failed=0 skipped=0 cases=()
file_systems=(ext4 ext4-nojournal xfs)

finish() {
  echo "powercut: $passed passed, $failed failed, $skipped skipped"
  if [[ -n "$junit" ]]; then
    mkdir -p "$(dirname "$junit")"
    {
      echo '<?xml version="1.0" encoding="UTF-8"?>'
      echo "<testsuite name=\"powercut\" tests=\"$((passed + failed + skipped))\" failures=\"$failed\" skipped=\"$skipped\">"
      printf '%s\n' "${cases[@]}"
      echo '</testsuite>'
    } >"$junit"
  fi
  [[ $failed -eq 0 ]]
}

record_case() { # name status message [xml file: the case runs in a subshell, which counts nothing]
  local name="$1" status="$2" message="$3" body=""
  echo "$status $name $message"
  case "$status" in
    PASS) passed=$((passed + 1)) ;;
    FAIL) failed=$((failed + 1)); body="<failure message=\"$message\"/>" ;;
    SKIP) skipped=$((skipped + 1)); body="<skipped message=\"$message\"/>" ;;
  esac
  local line="  <testcase classname=\"powercut\" name=\"$name\">$body</testcase>"
  if [[ -n "${4:-}" ]]; then echo "$line" >"$4"; else cases+=("$line"); fi
}

skip_all() {
  for fs in "${file_systems[@]}"; do for mode in durable not-durable; do record_case "powercut.$fs.$mode" SKIP "$1"; done; done
  finish
  exit $?
}

# ---- Prerequisites ----
# KVM where it can run a stock kernel. A host whose KVM is PVM (kvm_pvm: virtualization without VT-x/AMD-V,
# which boots only kernels built as PVM guests) hangs Debian's kernel right after decompression: there the
# guest runs under TCG, qemu's emulator, about ten times slower.
accel=tcg
if [[ -w /dev/kvm && ! -d /sys/module/kvm_pvm ]]; then
  accel=kvm
fi
need=()
for tool in qemu-system-x86_64:qemu-system-x86 mkfs.xfs:xfsprogs mkfs.ext4:e2fsprogs e2fsck:e2fsprogs; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need+=(busybox-static)
# build/prereqs.sh installs them (the powercut stage of build/test.sh asks it first).
[[ ${#need[@]} -eq 0 ]] || skip_all "missing ${need[*]} (build/prereqs.sh powercut installs them)"

# ---- The kernel: Debian's, unpacked from its package (no install, no postinst) ----
kernel_dir="$out/kernel"
if [[ ! -f "$kernel_dir/ok" ]]; then
  rm -rf "$kernel_dir" && mkdir -p "$kernel_dir"
  package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [[ -n "$package" ]] || { apt-get update -qq; package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); }
  (cd "$kernel_dir" && apt-get download -q "$package" >/dev/null 2>&1) || skip_all "cannot download the kernel package $package"
  dpkg-deb -x "$kernel_dir"/*.deb "$kernel_dir/root"
  rm -f "$kernel_dir"/*.deb
  touch "$kernel_dir/ok"
fi
vmlinuz=$(ls "$kernel_dir"/root/boot/vmlinuz-* | head -1)
modules=$(ls -d "$kernel_dir"/root/lib/modules/* | head -1)

# ---- The guest program and the initramfs ----
cmake -S "$root" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$out/build" --target noinherit_static -j2 >/dev/null
# The library pins a few glibc symbols to their old versions (native/src/unix/unix.c), which a static link
# cannot resolve (libc.a has no versions): the guest's copy of the archive names them without.
unversioned=()
for symbol in $(nm "$out/build/native/libnoinherit.a" 2>/dev/null | awk '$1 == "U" && $2 ~ /@GLIBC_/ { print $2 }' | sort -u); do
  unversioned+=(--redefine-sym "$symbol=${symbol%@*}")
done
objcopy "${unversioned[@]}" "$out/build/native/libnoinherit.a" "$out/libnoinherit-guest.a"
gcc -static -O2 -Wall -Wextra -Werror -DNI_STATIC -I"$root/native/include" "$root"/tests/powercut/*.c \
  "$out/libnoinherit-guest.a" -o "$out/powercut"
initrd="$out/initramfs"
rm -rf "$initrd" && mkdir -p "$initrd"/{bin,modules,proc,sys,dev,mnt,check}
cp /bin/busybox "$initrd/bin/busybox"
cp "$out/powercut" "$initrd/bin/powercut"
cp "$root/tests/powercut/init.sh" "$initrd/init" && chmod +x "$initrd/init"
# e2fsck for the crash states of ext4-nojournal: the host's, with the shared libraries and the loader ldd names,
# each at its own path (the loader's default search finds them there; PT_INTERP names the loader's path).
e2fsck=$(command -v e2fsck)
mkdir -p "$initrd/sbin" && cp -L "$e2fsck" "$initrd/sbin/e2fsck"
for library in $(ldd "$e2fsck" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
  mkdir -p "$initrd$(dirname "$library")" && cp -L "$library" "$initrd$library"
done
# Load order: each module after what it depends on (crc32c for ext4's and XFS's checksums, looked up by name).
order=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk crc32c_generic crc16
       mbcache jbd2 ext4 libcrc32c xfs dm-mod dm-bufio dm-snapshot dm-log-writes)
: >"$initrd/modules.order"
for m in "${order[@]}"; do
  path=$(find "$modules" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
  [[ -n "$path" ]] || { echo "powercut: module $m not in $modules" >&2; exit 1; }
  case "$path" in
    *.xz) xz -dc "$path" >"$initrd/modules/$m.ko" ;;
    *.zst) zstd -qdc "$path" >"$initrd/modules/$m.ko" ;;
    *) cp "$path" "$initrd/modules/$m.ko" ;;
  esac
  echo "$m" >>"$initrd/modules.order"
done
(cd "$initrd" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$out/initramfs.gz")

# ---- One boot per file system and mode ----
run_case() { # fs mode; its lines on stdout, its JUnit case in $out/<fs>-<mode>.result.xml
  local fs="$1" mode="$2" dir="$out/$1-$2" name="powercut.$1.$2" xml="$out/$1-$2.result.xml"
  rm -rf "$dir" && mkdir -p "$dir"
  case "$fs" in
    ext4) truncate -s 64M "$dir/data.img" && mkfs.ext4 -q -F -b 4096 "$dir/data.img" ;;
    ext4-nojournal) truncate -s 64M "$dir/data.img" && mkfs.ext4 -q -F -b 4096 -O ^has_journal "$dir/data.img" ;;
    xfs) truncate -s 320M "$dir/data.img" && mkfs.xfs -q -f -m reflink=0 "$dir/data.img" ;;
  esac
  cp --sparse=always "$dir/data.img" "$dir/replay.img"
  truncate -s 1G "$dir/log.img"
  truncate -s 512M "$dir/cow.img"
  local drives=()
  for disk in data log replay cow; do # discard=unmap: the guest's discards reach dm-log-writes' log and the disk
    drives+=(-drive "file=$dir/$disk.img,if=virtio,format=raw,cache=unsafe,discard=unmap")
  done
  local start=$SECONDS
  timeout 900 qemu-system-x86_64 -accel "$accel" -smp 1 -m 1024 -nographic -no-reboot -nic none \
    -kernel "$vmlinuz" -initrd "$out/initramfs.gz" \
    -append "console=ttyS0 quiet panic=-1 pc.fs=$fs pc.mode=$mode" "${drives[@]}" >"$dir/console.log" 2>&1 || true
  local result
  result=$(grep -a '^PC-RESULT' "$dir/console.log" | tr -d '\r' || true)
  grep -a '^PC-VIOLATION\|^PC-ERROR\|powercut:' "$dir/console.log" | tr -d '\r' | head -20 || true
  if [[ -z "$result" ]]; then
    record_case "$name" FAIL "no result from the guest ($((SECONDS - start)) s; see $dir/console.log)" "$xml"
  elif grep -aq '^PC-EXIT 0' "$dir/console.log"; then
    record_case "$name" PASS "${result#PC-RESULT } accel=$accel time=$((SECONDS - start))s" "$xml"
  else
    record_case "$name" FAIL "${result#PC-RESULT } accel=$accel time=$((SECONDS - start))s" "$xml"
  fi
  rm -f "$dir"/*.img
}

# Two guests at a time (one per core); each case's lines are printed once both are done, in order.
# POWERCUT_CASES="ext4.durable ..." runs only those.
every=""
for fs in "${file_systems[@]}"; do every+=" $fs.durable $fs.not-durable"; done
selected="${POWERCUT_CASES:-$every}"
for fs in "${file_systems[@]}"; do
  modes=()
  for mode in durable not-durable; do
    [[ " $selected " == *" $fs.$mode "* ]] && modes+=("$mode")
  done
  for mode in "${modes[@]}"; do
    run_case "$fs" "$mode" >"$out/$fs-$mode.result" &
  done
  wait
  for mode in "${modes[@]}"; do
    cat "$out/$fs-$mode.result"
    status=$(grep -aoE '^(PASS|FAIL) ' "$out/$fs-$mode.result" | head -1 | tr -d ' ')
    case "$status" in
      PASS) passed=$((passed + 1)) ;;
      *) failed=$((failed + 1)) ;;
    esac
    cases+=("$(grep -a '^  <testcase' "$out/$fs-$mode.result.xml" 2>/dev/null || echo "  <testcase classname=\"powercut\" name=\"powercut.$fs.$mode\"><failure message=\"no result\"/></testcase>")")
  done
done
finish
