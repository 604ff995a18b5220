# win-arm64 (Windows on ARM): zig cc for aarch64-windows-gnu (zig from the npm registry, with its MinGW-w64 headers and
# import libraries: Debian has no arm64 MinGW toolchain). Nothing here runs arm64 Windows programs, so this RID is built
# and checked (its exports are those of noinherit.h, it imports no MinGW runtime DLL: native/CMakeLists.txt), not run.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR ARM64)
set(ni_zig_target aarch64-windows-gnu)
set(NI_RID win-arm64 CACHE STRING "" FORCE)
include(${CMAKE_CURRENT_LIST_DIR}/zig.cmake)
# The ABI check reads the DLL's export and import tables with llvm-objdump: binutils here reads no arm64 PE.
set(CMAKE_OBJDUMP llvm-objdump)
