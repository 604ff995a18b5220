#!/usr/bin/env bash
# Vendoring tests: apps made in a temporary folder outside the repository reference
# managed/NoInherit.Native/NoInherit.Native.csproj by path, as an app that vendors the sources (a git submodule, a
# copied folder) does, and use it every way users do. One JUnit case per scenario in NI_RESULTS
# (artifacts/test-results/vendoring/vendoring.xml unless set); prints "PASS name" / "FAIL name" per scenario and
# ends with "vendoring: N passed, N failed, N skipped".
#   tests/Packaging/vendoring.sh        (builds the repository's projects: build/stages/vendoring.sh holds the build lock)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
logs="${NI_LOGS:-$root/artifacts/test-logs/vendoring/vendoring}"
junit="${NI_RESULTS:-$root/artifacts/test-results/vendoring/vendoring.xml}"
# shellcheck source=lib.sh
source "$here/lib.sh"
rm -rf "$logs" "$junit"; mkdir -p "$logs"
apps="$(mktemp -d "${TMPDIR:-/tmp}/ni-vendoring-XXXXXX")"
trap 'rm -rf "$apps"' EXIT
[[ "$apps" != "$root"/* ]] || { echo "the apps must live outside the repository, not in $apps"; exit 1; }
native="$root/artifacts/native"
NI_HOST_RID="${NI_HOST_RID:-$(bash "$root/build/host-rid.sh")}"

# locked COMMAND...: these builds build the repository's own projects (the library, the native library of a RID), which
# build/test.sh's stages share: with NI_BUILD_LOCK set (build/stages/vendoring.sh) they take turns with the other
# builds. -o: the lock is not handed to the command, where a build server that outlives it would keep it.
locked() {
  if [[ -n "${NI_BUILD_LOCK:-}" ]]; then flock -o "$NI_BUILD_LOCK" "$@"; else "$@"; fi
}

# app NAME [IMPORT] [PROPERTIES]: a fresh app in $apps/NAME with nothing but a ProjectReference to the project (the
# consumption tests' program); IMPORT=import adds the targets that NativeAOT static linking needs (README, "Vendoring").
app() {
  local dir="$apps/$1" import=""
  [[ "${2:-}" == import ]] &&
    import="<Import Project=\"$root/managed/NoInherit.Native/buildTransitive/NoInherit.Native.targets\" />"
  mkdir -p "$dir"
  cp "$here/Consumer/Program.cs" "$dir/"
  cat >"$dir/App.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    ${3:-}
  </PropertyGroup>
  <ItemGroup>
    <ProjectReference Include="$root/managed/NoInherit.Native/NoInherit.Native.csproj" />
  </ItemGroup>
  $import
</Project>
EOF
}
publish() { locked dotnet publish "$apps/$1" -c Release -o "$apps/$1/out" "${@:2}"; }

run_no_rid() {
  app run && locked dotnet build "$apps/run" -c Release &&
  dotnet run --no-build --project "$apps/run" -c Release | tee /dev/stderr | grep -q "consumer OK: $NI_HOST_RID" &&
  same_file "$apps/run/bin/Release/net10.0/libnoinherit.so" "$native/$NI_HOST_RID/bin/libnoinherit.so"
}

self_contained_linux_x64() {
  app sc && publish sc -r linux-x64 --self-contained &&
  only_native "$apps/sc/out" libnoinherit.so &&
  same_file "$apps/sc/out/libnoinherit.so" "$native/linux-x64/bin/libnoinherit.so" &&
  "$apps/sc/out/App" | tee /dev/stderr | grep -q 'consumer OK: linux-x64'
}

# One file: the static library linked in, nothing beside the executable; the program itself checks that a child it
# starts holds an inheritable control file and not its own.
native_aot_linux_x64() {
  app aot import && publish aot -r linux-x64 -p:PublishAot=true &&
  no_native "$apps/aot/out" App &&
  "$apps/aot/out/App" | tee /dev/stderr | grep -q 'consumer OK: linux-x64, .*aot=True'
}

# Without the targets, a NativeAOT publish still works: it loads the shared library from beside the executable.
native_aot_project_reference_only() {
  app aotref && publish aotref -r linux-x64 -p:PublishAot=true &&
  only_native "$apps/aotref/out" libnoinherit.so &&
  "$apps/aotref/out/App" | tee /dev/stderr | grep -q 'consumer OK: linux-x64, .*aot=True'
}

# A RuntimeIdentifier set in the app's project file reaches the native build through the targets (without them only
# a command-line -r does): linux-musl-x64, whose build must not be the host's glibc one.
rid_in_project_file() {
  app pinned import "<RuntimeIdentifier>linux-musl-x64</RuntimeIdentifier><SelfContained>false</SelfContained><UseAppHost>false</UseAppHost>" &&
  publish pinned &&
  only_native "$apps/pinned/out" libnoinherit.so &&
  same_file "$apps/pinned/out/libnoinherit.so" "$native/linux-musl-x64/bin/libnoinherit.so" &&
  architecture "$apps/pinned/out/libnoinherit.so" linux-musl-x64
}

self_contained_win_x64_wine() {
  app win && publish win -r win-x64 --self-contained &&
  only_native "$apps/win/out" noinherit.dll &&
  same_file "$apps/win/out/noinherit.dll" "$native/win-x64/bin/noinherit.dll" &&
  "$wine" "$apps/win/out/App.exe" | tee /dev/stderr | grep -q 'consumer OK: win-x64'
}

scenario vendored-dotnet-run-no-rid run_no_rid
scenario vendored-self-contained-linux-x64 self_contained_linux_x64
scenario vendored-nativeaot-linux-x64-one-file native_aot_linux_x64
scenario vendored-nativeaot-linux-x64-project-reference-only native_aot_project_reference_only
scenario vendored-rid-in-the-project-file rid_in_project_file
scenario vendored-self-contained-win-x64-under-wine self_contained_win_x64_wine
summary vendoring
