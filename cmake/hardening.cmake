# Hardening builds (issue 8): sanitizers, valgrind memcheck, libFuzzer. All off by default; a shipped
# build never has them.
#
#   -DNI_SANITIZE=address,undefined   every target (library, tests, fuzzers) built with these sanitizers;
#                                     any report aborts the process (no recovery), so a test that
#                                     triggers one fails. LeakSanitizer comes with address.
#   -DNI_VALGRIND=ON                  every C test case runs under valgrind memcheck (cmake/memcheck.sh):
#                                     memory errors, leaks and descriptors left open fail the case.
#   -DNI_BUILD_FUZZERS=ON             tests/fuzz (clang only: libFuzzer ships with clang).
set(NI_SANITIZE "" CACHE STRING "Sanitizers for every target, as -fsanitize= takes them (e.g. address,undefined)")
option(NI_VALGRIND "Run every C test case under valgrind memcheck" OFF)
option(NI_BUILD_FUZZERS "Build the libFuzzer targets of tests/fuzz (clang)" OFF)

if(NI_SANITIZE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "NI_SANITIZE needs gcc or clang, not ${CMAKE_C_COMPILER_ID}")
  endif()
  if(NI_VALGRIND)
    message(FATAL_ERROR "NI_SANITIZE and NI_VALGRIND exclude each other: valgrind cannot run sanitized programs")
  endif()
  # Frame pointers and debug info for readable reports; the optimisation level is the build type's.
  add_compile_options(-fsanitize=${NI_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${NI_SANITIZE})
  message(STATUS "hardening: sanitizers ${NI_SANITIZE}")
endif()

if(NI_VALGRIND)
  find_program(NI_VALGRIND_PROGRAM valgrind REQUIRED)
  # Debug info for the reports; valgrind runs the same optimised code otherwise.
  add_compile_options(-g)
  # The launcher put in front of every C test (tests/native/CMakeLists.txt).
  set(NI_TEST_LAUNCHER ${CMAKE_CURRENT_LIST_DIR}/memcheck.sh ${NI_VALGRIND_PROGRAM})
  message(STATUS "hardening: C tests under ${NI_VALGRIND_PROGRAM}")
endif()

if(NI_BUILD_FUZZERS)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "NI_BUILD_FUZZERS needs clang (libFuzzer), not ${CMAKE_C_COMPILER_ID}: -DCMAKE_C_COMPILER=clang")
  endif()
  # Coverage feedback from the library's code too, not only from the target's.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
