# linux-musl-x64 (Alpine and friends): Debian's musl-tools wrapper around gcc; tests run natively.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER musl-gcc)
set(NI_RID linux-musl-x64 CACHE STRING "" FORCE)
