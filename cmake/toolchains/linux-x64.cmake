# linux-x64 (glibc): the host compiler of an x86_64 Debian machine. Not a cross build, so no
# CMAKE_SYSTEM_NAME here (setting it would mark the build as cross-compiling).
set(NI_RID linux-x64 CACHE STRING "" FORCE)
