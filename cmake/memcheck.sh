#!/usr/bin/env bash
# Runs one C test case under valgrind memcheck; the tests' launcher when NI_VALGRIND=ON
# (cmake/hardening.cmake puts it in front of every add_test command).
#   cmake/memcheck.sh <valgrind> <test program> <args...>
# The case fails (exit 1) on any memory error, on memory definitely or indirectly lost, and on a
# descriptor still open at exit that the process did not inherit from its parent (CTest's own pipes
# and whatever CI left open are inherited, so they never count). Otherwise the program's own exit
# code stands (77: the case skipped something).
#
# Threads: valgrind runs one at a time. Its default lock hands the CPU to whichever thread grabs it
# first, so a test's busy worker threads could starve the thread that checks the clock for minutes;
# --fair-sched=try takes them in turn (a ticket lock, where the system has one).
#
# Children: programs the tests exec (the ni_fdlist checker, /bin/sh...) run natively
# (--trace-children=no). Processes a test forks stay under valgrind until they exec, silently: a log
# of their own would be a descriptor that the programs they exec inherit (valgrind opens it after
# the fork), which the inheritance tests would rightly see. Their memory errors still change their
# exit code (--error-exitcode), which the tests check.
set -uo pipefail
valgrind="$1"; shift
log=$(mktemp "${TMPDIR:-/tmp}/ni-memcheck-XXXXXX")
trap 'rm -f "$log"' EXIT
error_code=99

"$valgrind" --tool=memcheck --error-exitcode=$error_code --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --track-fds=yes --fair-sched=try --trace-children=no --child-silent-after-fork=yes \
  --num-callers=30 --suppressions="$(dirname "${BASH_SOURCE[0]}")/valgrind.supp" --log-file="$log" "$@"
rc=$?
if ! grep -q "ERROR SUMMARY:" "$log"; then
  echo "memcheck: valgrind did not finish (exit $rc):" >&2
  cat "$log" >&2
  exit 1
fi

# "Open file descriptor N: ..." / "Open AF_INET socket N: ..." blocks; inherited ones say so on the
# line after. Anything else was opened by the process and never closed.
leaked=$(awk '
  /Open (file descriptor|AF_[A-Z0-9]+ socket) [0-9]+/ { if (pending != "") print pending; pending = $0; next }
  pending != "" { if ($0 !~ /<inherited from parent>/) print pending; pending = "" }
  END { if (pending != "") print pending }' "$log")

failed=0
if [[ $rc -eq $error_code ]] || grep -qE "ERROR SUMMARY: [1-9]" "$log"; then
  echo "memcheck: valgrind found errors:" >&2
  failed=1
fi
if [[ -n "$leaked" ]]; then
  echo "memcheck: descriptors leaked (open at exit, not inherited):" >&2
  echo "$leaked" >&2
  failed=1
fi
if [[ $failed -ne 0 ]]; then
  cat "$log" >&2
  exit 1
fi
echo "memcheck: 0 errors, 0 bytes lost, 0 descriptors leaked"
exit $rc
