#!/usr/bin/env bash
# The copy benchmarks (CopyBenchmarks) on every file system: the repository's own (where artifacts/ lives: on the
# project's build machine an ext4 without a journal, named "ext4-nojournal" then), and loop-mounted ext4 (with its
# journal, mkfs's default; and the same on a loop device with direct I/O, "ext4-direct"), XFS and btrfs images and a
# tmpfs made here (needs root and the mkfs tools; each that
# cannot be made is left out and said so). Arguments go to benchmarks/run.sh, e.g.
#   benchmarks/copy-filesystems.sh --quick --filter '*CopyBenchmarks*'
#   benchmarks/copy-filesystems.sh --harness      the C harness (ni_copy_bench) on the same file systems instead
set -euo pipefail
harness=0
[[ "${1:-}" == --harness ]] && { harness=1; shift; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$root/artifacts/benchmarks/filesystems"
mkdir -p "$base/ext4"
fs_type=$(stat -f -c %T "$base/ext4")
fs_type="${fs_type/ext2\/ext3/ext4}"
if [[ "$fs_type" == ext4 ]]; then
  device=$(basename "$(readlink -f "/sys/dev/block/$(mountpoint -d "$(stat -c %m "$base/ext4")")")")
  [[ "$(cat "/sys/fs/ext4/$device/journal_task" 2>/dev/null)" == "<none>" ]] && fs_type=ext4-nojournal
fi
mv "$base/ext4" "$base/$fs_type" 2>/dev/null || mkdir -p "$base/$fs_type"
dirs="$fs_type=$base/$fs_type"
mounted=() loops=()
cleanup() {
  for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || true; done
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -f "$base"/*.img
}
trap cleanup EXIT
if [[ $(id -u) -eq 0 ]]; then
  for fs in ext4 xfs btrfs; do
    [[ "$fs_type" == "$fs" ]] && continue
    mkdir -p "$base/$fs"
    truncate -s 2G "$base/$fs.img"
    force=-f
    [[ "$fs" == ext4 ]] && force=-F
    if "mkfs.$fs" -q "$force" "$base/$fs.img" >/dev/null 2>&1 && mount -o loop "$base/$fs.img" "$base/$fs"; then
      mounted+=("$base/$fs")
      dirs="$dirs,$fs=$base/$fs"
    else
      echo "copy-filesystems: no $fs here (mkfs.$fs or loop mounts missing): left out" >&2
    fi
  done
  # ext4 with its journal again, on a loop device with direct I/O: its writes and flushes reach the VM's disk
  # instead of the page cache, as a real disk's would (the plain loop image above hides their cost).
  mkdir -p "$base/ext4-direct"
  truncate -s 2G "$base/ext4-direct.img"
  if mkfs.ext4 -q -F "$base/ext4-direct.img" >/dev/null 2>&1 &&
     loop=$(losetup --direct-io=on -f --show "$base/ext4-direct.img" 2>/dev/null) &&
     { mount "$loop" "$base/ext4-direct" || { losetup -d "$loop"; false; }; }; then
    mounted+=("$base/ext4-direct")
    loops+=("$loop")
    dirs="$dirs,ext4-direct=$base/ext4-direct"
  else
    echo "copy-filesystems: no loop device with direct I/O here: ext4-direct left out" >&2
  fi
  mkdir -p "$base/tmpfs"
  if mount -t tmpfs -o size=1g ni-bench "$base/tmpfs"; then
    mounted+=("$base/tmpfs")
    dirs="$dirs,tmpfs=$base/tmpfs"
  fi
else
  echo "copy-filesystems: not root: only $fs_type" >&2
fi
echo "copy-filesystems: NI_BENCH_COPY_DIRS=$dirs"
sync # the new images' writeback must not run under the first measurements
if [[ "$harness" == 1 ]]; then
  # The C harness instead: ni_copy_bench on every file system, plain and durable, 4 KiB, 1 MiB and 64 MiB (rounds
  # of 50 / 20 / 2 copies plain, 10 / 5 / 2 durable; 7 rounds, 5 at 64 MiB), with the block requests per copy.
  out="$root/artifacts/benchmarks/native"
  cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DNI_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$out" --target ni_copy_bench >/dev/null
  IFS=',' read -ra entries <<<"$dirs"
  for entry in "${entries[@]}"; do
    echo "== ${entry%%=*}"
    for durable in 0 1; do
      "$out/benchmarks/native/ni_copy_bench" "${entry#*=}" 4096 $((durable ? 10 : 50)) "$durable" 7
      "$out/benchmarks/native/ni_copy_bench" "${entry#*=}" 1048576 $((durable ? 5 : 20)) "$durable" 7
      "$out/benchmarks/native/ni_copy_bench" "${entry#*=}" 67108864 2 "$durable" 5
    done
  done
  exit 0
fi
NI_BENCH_COPY_DIRS="$dirs" bash "$root/benchmarks/run.sh" "$@"
