# linux-musl-arm64 (Alpine and friends on 64-bit ARM): zig cc for aarch64-linux-musl (zig from the npm registry:
# Debian has no musl cross toolchain). The library and the tests are linked dynamically against musl, as on Alpine;
# they run under qemu-aarch64 with Debian's musl for arm64 as the guest's root (build/prereqs.sh unpacks it,
# nothing installed), which provides the musl loader /lib/ld-musl-aarch64.so.1.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(ni_zig_target aarch64-linux-musl)
set(NI_RID linux-musl-arm64 CACHE STRING "" FORCE)
include(${CMAKE_CURRENT_LIST_DIR}/zig.cmake)
# -dynamic: zig links executables for musl statically unless told otherwise.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-dynamic")
set(NI_MUSL_ARM64_ROOT "${CMAKE_CURRENT_LIST_DIR}/../../artifacts/tools/arm64-musl" CACHE PATH
    "The guest root for qemu-aarch64: Debian's musl for arm64 (build/prereqs.sh --path arm64-musl)")
find_program(NI_QEMU_AARCH64 qemu-aarch64 NO_CMAKE_FIND_ROOT_PATH)
if(NI_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${NI_QEMU_AARCH64} -L ${NI_MUSL_ARM64_ROOT})
endif()
