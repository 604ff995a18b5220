# linux-arm (32-bit ARMv7, hard float, glibc): Debian's gcc-arm-linux-gnueabihf; tests run under qemu-arm.
# 64-bit time_t and file offsets, as .NET's own linux-arm build (since .NET 9) uses: the library then needs
# glibc 2.34 (the *_time64 symbols), below the 2.35 that .NET itself needs there (native/CMakeLists.txt checks it).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_NM arm-linux-gnueabihf-nm)
set(CMAKE_OBJDUMP arm-linux-gnueabihf-objdump)
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64")
set(NI_GLIBC_FLOOR 2.34)
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# An absolute path: the tests also execv it themselves, to start their checker child (no PATH search).
find_program(NI_QEMU_ARM qemu-arm NO_CMAKE_FIND_ROOT_PATH)
if(NI_QEMU_ARM)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${NI_QEMU_ARM} -L /usr/arm-linux-gnueabihf)
endif()
set(NI_RID linux-arm CACHE STRING "" FORCE)
