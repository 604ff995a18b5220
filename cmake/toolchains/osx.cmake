# osx-x64 / osx-arm64: an Apple clang toolchain (Xcode command-line tools). Not available on the
# project's build machines, so these RIDs are neither built nor tested there; the POSIX sources keep
# their non-Linux paths (no SOCK_CLOEXEC, no accept4: FD_CLOEXEC fallback) behind feature checks.
# Use: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/osx.cmake -DCMAKE_OSX_ARCHITECTURES=arm64|x86_64
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_C_COMPILER clang)
if(CMAKE_OSX_ARCHITECTURES STREQUAL "x86_64")
  set(NI_RID osx-x64 CACHE STRING "" FORCE)
else()
  set(CMAKE_OSX_ARCHITECTURES arm64 CACHE STRING "" FORCE)
  set(NI_RID osx-arm64 CACHE STRING "" FORCE)
endif()
