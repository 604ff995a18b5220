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
# shellcheck source=lib.sh
source "$here/lib.sh"
rm -rf "$out" "$logs" "$junit"; mkdir -p "$out" "$logs"
rids="$(cd "$root" && source build/stages.sh && ni_shipped_rids)"

if [[ ! -f "$package" ]]; then
  echo "no package at $package: run dotnet pack first" >&2
  record --name package --status fail --message "no package at $package: run dotnet pack first"
  echo "packaging: 0 passed, 1 failed, 0 skipped"
  exit 1
fi
# A package of the same version already in the cache would be used instead of the one just built.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/noinherit.native/$version"

publish() { dotnet publish "$app" -c Release -o "$out/$1" "${@:2}"; }
native_file() { [[ "$1" == win-* ]] && echo noinherit.dll || echo libnoinherit.so; }

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
  no_native "$out/aot-linux-x64" Consumer &&
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

self_contained_win_x86_wine32() {
  publish win-x86 -r win-x86 --self-contained &&
  only_native "$out/win-x86" noinherit.dll &&
  same_file "$out/win-x86/noinherit.dll" "$root/artifacts/native/win-x86/bin/noinherit.dll" &&
  "$wine32" "$out/win-x86/Consumer.exe" | tee /dev/stderr | grep -q 'consumer OK: win-x86'
}

# publish_only RID ARGS...: a RID whose app nothing here runs: the publish carries exactly that RID's build.
publish_only() {
  local rid="$1" file; file="$(native_file "$1")"; shift
  publish "only-$rid" -r "$rid" "$@" &&
  only_native "$out/only-$rid" "$file" &&
  same_file "$out/only-$rid/$file" "$root/artifacts/native/$rid/bin/$file" &&
  architecture "$out/only-$rid/$file" "$rid"
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

# Every shipped RID: its shared library (the right machine and C library) and its static library, which NativeAOT links
# in (the .NET 10 SDK has NativeAOT for all eight; linux-arm and win-x86 since .NET 9).
package_contents() {
  local listing rid; listing=$(unzip -l "$package") || return 1
  echo "$listing"
  local expected=(lib/net8.0/NoInherit.Native.dll lib/net10.0/NoInherit.Native.dll
    buildTransitive/NoInherit.Native.targets README.md)
  for rid in $rids; do
    if [[ "$rid" == win-* ]]; then
      expected+=("runtimes/$rid/native/noinherit.dll" "static/$rid/noinherit.lib")
    else
      expected+=("runtimes/$rid/native/libnoinherit.so" "static/$rid/libnoinherit.a")
    fi
  done
  for entry in "${expected[@]}"; do
    grep -q " $entry\$" <<<"$listing" || { echo "missing from the package: $entry"; return 1; }
  done
  rm -rf "$out/contents" && unzip -q "$package" 'runtimes/*' -d "$out/contents" || return 1
  for rid in $rids; do
    architecture "$out/contents/runtimes/$rid/native/$(native_file "$rid")" "$rid" || return 1
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
scenario self-contained-win-x86-under-wine32 self_contained_win_x86_wine32
scenario self-contained-linux-arm64-under-qemu self_contained_linux_arm64_qemu
# Publishes that carry exactly their RID's build, for RIDs nothing here runs a .NET app of. linux-arm and
# linux-musl-arm64 are framework-dependent: the package source here has no .NET runtime pack for either (NU1101).
scenario publish-win-arm64 publish_only win-arm64 --self-contained
scenario publish-linux-arm publish_only linux-arm --no-self-contained -p:UseAppHost=false
scenario publish-linux-musl-arm64 publish_only linux-musl-arm64 --no-self-contained -p:UseAppHost=false
no_runtime="the package source here serves no .NET runtime pack for it (NU1101: Microsoft.NETCore.App.Runtime"
skip run-linux-musl-x64 "a musl .NET app cannot run here: Debian has no musl build of the C++ runtime (libstdc++, libgcc_s) that .NET's runtime needs"
skip run-linux-musl-arm64 "no .NET runtime for linux-musl-arm64: $no_runtime.linux-musl-arm64)"
skip run-linux-arm "no .NET runtime for linux-arm: $no_runtime.linux-arm)"
skip run-win-arm64 "nothing here runs arm64 Windows programs (wine runs x86 and x64 code only)"
scenario vendored-runtimes-folder vendored

summary packaging
