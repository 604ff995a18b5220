# osx-x64 / osx-arm64 built on Linux with zig cc, for the compile-only check of the non-Linux POSIX paths
# (build/test.sh --stage native-osx-x64): zig is a clang that carries macOS's libc headers and link stubs, so the library
# and the C tests compile and link (Mach-O) without an Apple SDK. Nothing here can run them, and nothing
# built this way is shipped (the shipped macOS build is cmake/toolchains/osx.cmake, Apple clang).
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/osx-zig.cmake -DNI_ZIG=<zig> -DNI_RID=osx-x64|osx-arm64
# NI_ZIG may come from the environment instead; both reach the try_compile checks of cmake/configure.cmake.
if(NOT NI_ZIG AND DEFINED ENV{NI_ZIG})
  set(NI_ZIG "$ENV{NI_ZIG}")
endif()
if(NOT NI_ZIG)
  message(FATAL_ERROR "osx-zig.cmake needs -DNI_ZIG=<path to zig> (build/prereqs.sh --path zig names it)")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES NI_ZIG NI_RID)

if(NI_RID STREQUAL "osx-arm64")
  set(CMAKE_SYSTEM_PROCESSOR arm64)
  set(ni_zig_target aarch64-macos)
else()
  set(NI_RID osx-x64 CACHE STRING "" FORCE)
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
  set(ni_zig_target x86_64-macos)
endif()
set(CMAKE_SYSTEM_NAME Darwin)
# A compiler with mandatory arguments is a list; the archiver is not, so its rules name zig themselves.
set(CMAKE_C_COMPILER ${NI_ZIG} cc -target ${ni_zig_target})
set(CMAKE_C_ARCHIVE_CREATE "${NI_ZIG} ar qc <TARGET> <LINK_FLAGS> <OBJECTS>")
set(CMAKE_C_ARCHIVE_APPEND "${NI_ZIG} ar q <TARGET> <LINK_FLAGS> <OBJECTS>")
set(CMAKE_C_ARCHIVE_FINISH "${NI_ZIG} ranlib <TARGET>")
