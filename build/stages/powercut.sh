#!/usr/bin/env bash
# Stage powercut: the power-cut test of NI_COPY_DURABLE (tests/powercut/run.sh): a VM records every block write of a
# copy workload with dm-log-writes, and every crash state replayed from the log is checked (docs/reliability.md).
# One case per file system (ext4, ext4 without a journal, XFS) and mode (durable, not durable).
#   build/stages/powercut.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stage_init powercut

# The run builds its own static guest program (a small CMake build) and then spends minutes in the VM: only that
# build would need the lock, so the run goes without it.
if ! bounded 1500 bash "$root/tests/powercut/run.sh" --junit "$results/powercut.xml" >"$logs/run.log" 2>&1; then
  [[ -s "$results/powercut.xml" ]] || failed powercut "the power-cut run" "$logs/run.log"
fi
grep -E '^(PASS|FAIL|SKIP) ' "$logs/run.log" | sed 's/^/   /'
exit 0
