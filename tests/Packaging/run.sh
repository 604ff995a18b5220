#!/usr/bin/env bash
# Consumption tests: a fresh app uses the NoInherit.Native .nupkg from artifacts/packages (not a
# project reference) in every way users do. Records one JUnit case per scenario in NI_RESULTS
# (artifacts/test-results/package/consumption.xml unless set; build/results.py), prints "PASS name" /
# "FAIL name" per scenario and ends with "packaging: N passed, N failed, N skipped".
#   tests/Packaging/run.sh            (dotnet pack must have run; build/stages/package.sh runs both)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
app="$here/Consumer"
out="$root/artifacts/consume"
logs="${NI_LOGS:-$root/artifacts/test-logs/package/consumption}"
junit="${NI_RESULTS:-$root/artifacts/test-results/package/consumption.xml}"
version="$(cd "$root" && dotnet msbuild managed/NoInherit.Native -getProperty:Version 2>/dev/null | tail -1)"
package="$root/artifacts/packages/NoInherit.Native.$version.nupkg"
wine="/usr/lib/wine/wine64"
passed=0 failed=0 skipped=0
rm -rf "$out" "$logs" "$junit"; mkdir -p "$out" "$logs"
record() { python3 "$root/build/results.py" record "$junit" --suite consumption "$@"; }

if [[ ! -f "$package" ]]; then
  echo "no package at $package: run dotnet pack first" >&2
  record --name package --status fail --message "no package at $package: run dotnet pack first"
  echo "packaging: 0 passed, 1 failed, 0 skipped"
  exit 1
fi
# A package of the same version already in the cache would be used instead of the one just built.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/noinherit.native/$version"

# scenario NAME COMMAND...: runs COMMAND (a function below), logging to $logs/NAME.log
scenario() {
  local name="$1"; shift
  if "$@" >"$logs/$name.log" 2>&1; then
    echo "PASS $name"; passed=$((passed + 1))
    record --name "$name" --status pass
  else
    echo "FAIL $name (log: $logs/$name.log)"; tail -n 15 "$logs/$name.log" | sed 's/^/    /'; failed=$((failed + 1))
    record --name "$name" --status fail --message "scenario failed (log: ${logs#"$root"/}/$name.log)" --log "$logs/$name.log"
  fi
}
publish() { dotnet publish "$app" -c Release -o "$out/$1" "${@:2}"; }
same_file() { cmp -s "$1" "$2" || { echo "$1 is not $2"; return 1; }; }
only_native() { # DIR FILE: FILE is the only native library of ours in DIR, and no runtimes/ folder
  local found; found=$(find "$1" \( -name 'libnoinherit*' -o -name 'noinherit*' \) | sort)
  [[ "$found" == "$1/$2" && ! -d "$1/runtimes" ]] || { echo "native files in $1: $found"; return 1; }
}

fdd_run() { dotnet run --project "$app" -c Release; }

self_contained_linux_x64() {
  publish linux-x64 -r linux-x64 --self-contained &&
  only_native "$out/linux-x64" libnoinherit.so &&
  same_file "$out/linux-x64/libnoinherit.so" "$root/artifacts/native/linux-x64/bin/libnoinherit.so" &&
  "$out/linux-x64/Consumer"
}

self_contained_linux_musl_x64() {
  # The musl build, never the glibc one. Not run: this machine has no musl .NET runtime environment.
  publish linux-musl-x64 -r linux-musl-x64 --self-contained &&
  only_native "$out/linux-musl-x64" libnoinherit.so &&
  same_file "$out/linux-musl-x64/libnoinherit.so" "$root/artifacts/native/linux-musl-x64/bin/libnoinherit.so" &&
  ! readelf -V "$out/linux-musl-x64/libnoinherit.so" | grep -q GLIBC
}

native_aot_linux_x64() {
  publish aot-linux-x64 -r linux-x64 -p:PublishAot=true &&
  [[ -z "$(find "$out/aot-linux-x64" -name 'libnoinherit*')" ]] &&
  ! readelf -d "$out/aot-linux-x64/Consumer" | grep -q libnoinherit &&
  "$out/aot-linux-x64/Consumer" | tee /dev/stderr | grep -q 'aot=True'
}

native_aot_shared_opt_out() {
  publish aot-shared -r linux-x64 -p:PublishAot=true -p:NoInheritNativeStaticLink=false &&
  [[ -f "$out/aot-shared/libnoinherit.so" ]] &&
  "$out/aot-shared/Consumer" | grep -q 'aot=True'
}

self_contained_win_x64_wine() {
  publish win-x64 -r win-x64 --self-contained &&
  only_native "$out/win-x64" noinherit.dll &&
  WINEDEBUG=-all "$wine" "$out/win-x64/Consumer.exe" | tee /dev/stderr | grep -q 'consumer OK: win-x64'
}

self_contained_linux_arm64_qemu() {
  publish linux-arm64 -r linux-arm64 --self-contained &&
  only_native "$out/linux-arm64" libnoinherit.so &&
  same_file "$out/linux-arm64/libnoinherit.so" "$root/artifacts/native/linux-arm64/bin/libnoinherit.so" &&
  # No arm64 ICU under /usr/aarch64-linux-gnu: run invariant.
  DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/linux-arm64/Consumer" | tee /dev/stderr | grep -q 'consumer OK: linux-arm64'
}

vendored() {
  # The assembly and the package's runtimes/ folder copied into an app by hand: the resolver walks
  # runtimes/<rid>/native; without the folder it names the RID and the paths it tried.
  local vendor="$out/vendor/"
  rm -rf "$vendor" && mkdir -p "$vendor" &&
  unzip -q -o "$package" 'lib/net10.0/*' 'runtimes/*' -d "$out/vendor-pkg" &&
  cp "$out/vendor-pkg/lib/net10.0/NoInherit.Native.dll" "$vendor" && cp -r "$out/vendor-pkg/runtimes" "$vendor" &&
  publish vendored -p:NiConsume=vendored -p:NiVendorDir="$vendor" &&
  [[ -f "$out/vendored/runtimes/linux-x64/native/libnoinherit.so" && ! -f "$out/vendored/libnoinherit.so" ]] &&
  dotnet "$out/vendored/Consumer.dll" &&
  rm -rf "$out/vendored/runtimes" &&
  dotnet "$out/vendored/Consumer.dll" --expect-missing-native
}

package_contents() {
  local listing; listing=$(unzip -l "$package") || return 1
  echo "$listing"
  local rid expected=(lib/net8.0/NoInherit.Native.dll lib/net10.0/NoInherit.Native.dll
    buildTransitive/NoInherit.Native.targets README.md)
  for rid in linux-x64 linux-arm64 linux-musl-x64; do
    expected+=("runtimes/$rid/native/libnoinherit.so" "static/$rid/libnoinherit.a")
  done
  expected+=(runtimes/win-x64/native/noinherit.dll static/win-x64/noinherit.lib)
  for entry in "${expected[@]}"; do
    grep -q " $entry\$" <<<"$listing" || { echo "missing from the package: $entry"; return 1; }
  done
  [[ -f "${package%.nupkg}.snupkg" ]] || { echo "no symbol package"; return 1; }
}

scenario package-contents package_contents
scenario framework-dependent-run fdd_run
scenario self-contained-linux-x64 self_contained_linux_x64
scenario self-contained-linux-musl-x64 self_contained_linux_musl_x64
scenario nativeaot-linux-x64-static native_aot_linux_x64
scenario nativeaot-linux-x64-shared-opt-out native_aot_shared_opt_out
scenario self-contained-win-x64-under-wine self_contained_win_x64_wine
scenario self-contained-linux-arm64-under-qemu self_contained_linux_arm64_qemu
scenario vendored-runtimes-folder vendored

echo "packaging: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
