# Feature checks for the POSIX implementation. Every result is 0 or 1 (#cmakedefine01) and the
# sources test it with #if, never #ifdef, so a missing feature cannot read as present.
include(CheckSymbolExists)
include(CheckCSourceCompiles)

if(NOT WIN32)
  set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
  check_symbol_exists(O_CLOEXEC "fcntl.h" HAVE_O_CLOEXEC)
  check_symbol_exists(F_DUPFD_CLOEXEC "fcntl.h" HAVE_F_DUPFD_CLOEXEC)
  check_symbol_exists(SOCK_CLOEXEC "sys/socket.h" HAVE_SOCK_CLOEXEC)
  check_symbol_exists(accept4 "sys/socket.h" HAVE_ACCEPT4)
  check_symbol_exists(pipe2 "unistd.h" HAVE_PIPE2)
  check_symbol_exists(flock "sys/file.h" HAVE_FLOCK)
  check_symbol_exists(fallocate "fcntl.h" HAVE_FALLOCATE)
  check_symbol_exists(posix_fadvise "fcntl.h" HAVE_POSIX_FADVISE)
  unset(CMAKE_REQUIRED_DEFINITIONS)
endif()

foreach(feature HAVE_O_CLOEXEC HAVE_F_DUPFD_CLOEXEC HAVE_SOCK_CLOEXEC HAVE_ACCEPT4 HAVE_PIPE2
                HAVE_FLOCK HAVE_FALLOCATE HAVE_POSIX_FADVISE)
  if(NOT ${feature})
    set(${feature} 0)
  endif()
endforeach()

set(NI_VERSION_STRING "${PROJECT_VERSION}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/ni_config.h.in ${CMAKE_BINARY_DIR}/generated/ni_config.h)
