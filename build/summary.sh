# Counting test results, for build/test.sh and build/hardening.sh (sourced, not run): each suite adds a line
# "SUITE: N passed, N failed, N skipped", and the totals are summed for the script's last line.

total_passed=0 total_failed=0 total_skipped=0

# add SUITE PASSED FAILED SKIPPED
add() {
  printf '%-44s %5d passed, %d failed, %d skipped\n' "$1:" "$2" "$3" "$4"
  total_passed=$((total_passed + $2)); total_failed=$((total_failed + $3)); total_skipped=$((total_skipped + $4))
}

# fail_suite SUITE LOG: a suite that could not even run counts as one failure, so a broken build is never green.
fail_suite() {
  echo "!! $1 did not run; see $2" >&2
  tail -n 40 "$2" >&2
  add "$1" 0 1 0
}

# add_summary SUITE PREFIX LOG: adds the counts of the last "PREFIX: N passed, N failed, N skipped" line a
# script wrote to LOG (a failure when there is none: the script died before its end).
add_summary() {
  local suite="$1" prefix="$2" log="$3" line p f s
  line=$(grep -E "^$prefix: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$log" | tail -1)
  if [[ -z "$line" ]]; then fail_suite "$suite" "$log"; return; fi
  read -r p f s < <(sed -E "s/^$prefix: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/" <<<"$line")
  add "$suite" "$p" "$f" "$s"
}

# add_ctest SUITE LOG DIR: adds the counts of the CTest run of build directory DIR whose output is LOG, then
# lists the cases that did not pass and, for the skipped ones, the reasons they printed.
add_ctest() {
  local suite="$1" log="$2" dir="$3" summary out_of failed skipped
  summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  if [[ -z "$summary" ]]; then fail_suite "$suite" "$log"; return; fi
  out_of=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
  failed=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$summary")
  skipped=$(grep -cE '^\s+[0-9]+ - .*\(Skipped\)' "$log" || true)
  add "$suite" $((out_of - failed - skipped)) "$failed" "$skipped"
  grep -E '^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted)\)' "$log" || true
  grep -hE '^  skipped: ' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null | sort | uniq -c |
    sed -E 's/^[[:space:]]*([0-9]+)   skipped: /   skipped \1: /' || true
}
