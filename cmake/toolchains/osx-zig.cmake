# osx-x64 / osx-arm64 built on Linux with zig cc, for the compile-only check of the non-Linux POSIX paths
# (build/test.sh --stage native-osx-x64): zig carries macOS's libc headers and link stubs, so the library and the C
# tests compile and link (Mach-O) without an Apple SDK. Nothing here can run them, and nothing built this way is
# shipped (the shipped macOS build would be cmake/toolchains/osx.cmake, Apple clang).
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/osx-zig.cmake [-DNI_ZIG=<zig>] -DNI_RID=osx-x64|osx-arm64
if(NI_RID STREQUAL "osx-arm64")
  set(CMAKE_SYSTEM_PROCESSOR arm64)
  set(ni_zig_target aarch64-macos)
else()
  set(NI_RID osx-x64 CACHE STRING "" FORCE)
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
  set(ni_zig_target x86_64-macos)
endif()
set(CMAKE_SYSTEM_NAME Darwin)
include(${CMAKE_CURRENT_LIST_DIR}/zig.cmake)
