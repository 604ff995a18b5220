#!/usr/bin/env bash
# The .NET 11 lane without an SDK 11: lays out a private dotnet root with the .NET 11 runtime, and runs the
# managed test suite (the net10.0 build) on it.
#
#   build/dotnet11.sh root                 restores Microsoft.NETCore.App.Runtime.<rid> 11.0.0 (a PackageDownload),
#                                          lays out artifacts/dotnet11/<rid>/ (shared/Microsoft.NETCore.App/11.0.0,
#                                          host/fxr/11.0.0, the SDK's dotnet muxer) and prints its path
#   build/dotnet11.sh run APP.dll [ARGS]   runs a net10.0 app there (DOTNET_ROOT, roll-forward to the latest major)
#   build/dotnet11.sh test [ARGS]          builds the managed tests for net10.0 and runs them there; ARGS go to xunit's
#                                          runner as they are (-class, -method, -junit FILE, -trx FILE, ...)
#
# Environment: NI_DOTNET11_VERSION (default 11.0.0), NI_DOTNET11_RID (default: the host RID).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${NI_DOTNET11_VERSION:-11.0.0}"
rid="${NI_DOTNET11_RID:-${NI_HOST_RID:-$(bash "$root/build/host-rid.sh")}}"
lane="$root/artifacts/dotnet11/$rid"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# layout: restores the runtime pack (once) and lays out the private root (once per version); prints nothing.
layout() {
  local shared="$lane/shared/Microsoft.NETCore.App/$version"
  [[ -x "$lane/dotnet" && -f "$shared/libcoreclr.so" && -f "$lane/host/fxr/$version/libhostfxr.so" ]] && return 0
  local restore="$root/artifacts/dotnet11/restore" packages="$root/artifacts/dotnet11/packages"
  mkdir -p "$restore"
  cat >"$restore/Restore.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <ImportDirectoryBuildProps>false</ImportDirectoryBuildProps>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="Microsoft.NETCore.App.Runtime.$rid" Version="[$version]" />
  </ItemGroup>
</Project>
XML
  dotnet restore "$restore/Restore.csproj" --packages "$packages" -v quiet -nologo >&2
  local pack="$packages/microsoft.netcore.app.runtime.$rid/$version/runtimes/$rid"
  [[ -d "$pack/lib/net11.0" ]] || { echo "dotnet11: no runtime pack at $pack" >&2; exit 1; }
  rm -rf "$lane"
  mkdir -p "$shared" "$lane/host/fxr/$version"
  cp -a "$pack/lib/net11.0/." "$pack/native/." "$shared/"
  mv "$shared/libhostfxr.so" "$lane/host/fxr/$version/"
  # The muxer of the SDK that builds everything: it finds hostfxr (and so the runtime) beside itself.
  local sdk_dotnet
  sdk_dotnet="$(readlink -f "$(command -v dotnet)")"
  cp "$sdk_dotnet" "$lane/dotnet"
}

run() { # APP.dll ARGS...
  DOTNET_ROOT="$lane" DOTNET_ROLL_FORWARD=LatestMajor DOTNET_MULTILEVEL_LOOKUP=0 "$lane/dotnet" "$@"
}

case "${1:-root}" in
  root)
    layout
    echo "$lane" ;;
  run)
    shift
    layout
    run "$@" ;;
  test)
    shift
    layout
    tests="$root/tests/NoInherit.Native.Tests"
    dotnet build "$tests" -c Release -f net10.0 -v quiet -nologo >&2
    run "$tests/bin/Release/net10.0/NoInherit.Native.Tests.dll" "$@" ;;
  *)
    echo "usage: build/dotnet11.sh root | run APP.dll [ARGS...] | test [XUNIT ARGS...]" >&2
    exit 2 ;;
esac
