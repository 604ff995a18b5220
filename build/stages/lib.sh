# What every stage script shares (sourced, not run): where results and logs go, recording results as JUnit XML,
# the build lock, the time limit with hang diagnostics, and the CTest and xunit runs. docs/build.md describes stages.
#
# A stage writes its results under artifacts/test-results/<stage>/ (JUnit XML; build/results.py reads them) and the
# output of each step under artifacts/test-logs/<stage>/. What it prints itself is short: notes a reader of the CI log
# needs (hangs, long-running tests), which build/test.sh shows when the stage ends.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
artifacts="$root/artifacts"
host_rid="${NI_HOST_RID:-$(bash "$root/build/host-rid.sh")}"
export WINEDEBUG=-all DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1
export NI_HOST_RID="$host_rid"
# The repository's own wine prefix (unless one is given): a wine program left behind by another run in a shared prefix
# (~/.wine) keeps that prefix's wineserver alive, and wine_ready's wait for it would then never end. It lives outside
# the tree, one per clone (named by a checksum of its path): its z: drive is a link to /, which tools that walk the
# repository follow (BenchmarkDotNet's search for the project file failed on /proc when it was under artifacts/).
if [[ -z "${WINEPREFIX:-}" ]]; then
  WINEPREFIX="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/noinherit-native/wine-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
  mkdir -p "$(dirname "$WINEPREFIX")"
fi
export WINEPREFIX

# stage_init NAME: starts stage NAME with empty results and logs, after making sure what it needs is here.
stage_init() {
  stage="$1"
  results="$artifacts/test-results/$stage"
  logs="$artifacts/test-logs/$stage"
  rm -rf "$results" "$logs"
  mkdir -p "$results" "$logs"
  if ! bash "$root/build/prereqs.sh" "$stage" >"$logs/prereqs.log" 2>&1; then
    cat "$logs/prereqs.log"
    failed "$stage" "prerequisites" "$logs/prereqs.log"
    exit 1
  fi
}

# record SUITE NAME pass|fail|skip [MESSAGE] [LOG]: one test case in $results/SUITE.xml (a failure quotes LOG's end).
record() {
  python3 "$root/build/results.py" record "$results/$1.xml" --suite "$1" --name "$2" --status "$3" \
    ${4:+--message "$4"} ${5:+--log "$5"}
}

# failed SUITE WHAT LOG: a step that did not complete (a build, a publish) is a failure, never a silent gap.
failed() {
  echo "!! $stage: $2 failed; see $3"
  record "$1" "$2" fail "$2 did not complete (log: ${3#"$root"/})" "$3"
}

# serialized COMMAND...: runs COMMAND (a program or a function) holding the build lock. Builds use both cores and share
# obj/ folders and CMake build directories (artifacts/native/<rid>), so stages that run side by side build one at a
# time while their test runs overlap. The lock's descriptor is closed for COMMAND: a build server that outlives the
# build (MSBuild nodes, VBCSCompiler) must not hold the lock.
serialized() {
  local fd status
  mkdir -p "$artifacts"
  exec {fd}>>"$artifacts/.build.lock"
  flock "$fd"
  "$@" {fd}>&-
  status=$?
  exec {fd}>&-
  return $status
}

# once KEY COMMAND...: within one build/test.sh run (NI_RUN_DIR), runs COMMAND for the first stage that asks for KEY;
# the others wait for it and skip it once it succeeded (after a failure the next one tries again). A stage run alone
# always runs it. For builds that several stages share.
once() {
  local key="$1" mark status; shift
  [[ -n "${NI_RUN_DIR:-}" ]] || { "$@"; return; }
  mark="$NI_RUN_DIR/once-$key"
  mkdir -p "$NI_RUN_DIR"
  while :; do
    if mkdir "$mark" 2>/dev/null; then
      "$@" && { touch "$mark/done"; return 0; }
      status=$?
      rm -rf "$mark"
      return $status
    fi
    [[ -e "$mark/done" ]] && return 0
    sleep 1
  done
}

# thread_states PID PREFIX: a line per thread of PID: PREFIX, the thread id, its state, kernel wait channel and name.
thread_states() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "$2${t##*/} $(cut -d' ' -f3 "$t/stat" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null) $(cat "$t/comm" 2>/dev/null)"
  done
}

# bounded LIMIT COMMAND...: runs COMMAND in a session of its own, stdin /dev/null, for at most LIMIT seconds. One
# that overstays is hung: before its processes are killed, what each of their threads is blocked in goes to stderr,
# since a hung run prints nothing of its own. Returns COMMAND's status, or 124 after a hang.
bounded() {
  local limit="$1"; shift
  setsid "$@" </dev/null &
  local pid=$! waited=0
  bounded_session=$pid
  while kill -0 "$pid" 2>/dev/null && ((waited < limit)); do sleep 1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "!! still running after $limit s; its processes, and each thread's state and kernel wait channel:" >&2
    ps -o pid,ppid,stat,etimes,args -s "$pid" >&2
    local task
    for task in $(ps -o pid= -s "$pid"); do thread_states "$task" "   $task/"; done >&2
    kill -KILL -- -"$pid" 2>/dev/null
    wait "$pid"
    bounded_session=""
    return 124
  fi
  wait "$pid"
  local status=$?
  bounded_session=""
  return $status
}
# A stage stopped by build/test.sh (an interrupt) takes the bounded run in its own session along.
bounded_session=""
trap '[[ -n "$bounded_session" ]] && kill -KILL -- -"$bounded_session" 2>/dev/null; exit 143' TERM

# run_ctest SUITE DIR [CTEST-ARGS...]: the CTest suite of build directory DIR, results in $results/SUITE.xml.
run_ctest() {
  local suite="$1" dir="$2"; shift 2
  ctest --test-dir "$dir" --output-on-failure --parallel 2 --output-junit "$results/$suite.xml" "$@" \
    >"$logs/$suite.log" 2>&1
  [[ -s "$results/$suite.xml" ]] || failed "$suite" "ctest" "$logs/$suite.log"
}

# long_running LOG: the tests xunit named as running over its -longRunning limit (it names them again at each multiple
# of it), each once, with the longest time it gave.
long_running() {
  grep -E '\[Long Running Test\]' "$1" | tr -d '\r' |
    sed -E "s/\x1b\[[0-9;]*m//g; s/.*\[Long Running Test\] '(.*)', Elapsed: ([0-9:.]+).*/\1\t\2/" |
    awk -F'\t' '!($1 in at) { order[++n] = $1 } { at[$1] = $2 } END { for (i = 1; i <= n; i++) print "   " order[i] " (running " at[order[i]] ")" }'
}

# hang_dump LOG: the process dump bounded (and after_hang, if any) added to a hung run's LOG.
hang_dump() {
  sed -n '/^!! still running after/,$p' "$1"
}

# hang_report LOG: what a hung run's LOG says about the hang: the tests xunit named as long running, then the dump.
hang_report() {
  long_running "$1"
  hang_dump "$1" | head -120
}

# runner_path PATH: PATH as the test program names it: with wine_paths=1 a Windows path (wine's Z: drive is /).
runner_path() {
  if [[ "${wine_paths:-0}" == 1 ]]; then echo "Z:${1//\//\\}"; else echo "$1"; fi
}

# run_xunit SUITE LIMIT COMMAND...: runs the xunit v3 executable COMMAND (bounded), its results in $results/SUITE.xml.
# A test still running after two minutes is named ("[Long Running Test]"), so a hung run says which test hung. With
# rerun_hung=1 (the emulated runs), a run that hung is shown, kept as LOG.hung, and run once more: an emulator has hung
# where nothing else did (the linux-arm64 suite under qemu-user, once in CI); a run that fails, or hangs twice, fails.
# With after_hang=FUNCTION, FUNCTION runs after each hang, its output added to the log (wine_reset, for wine's own).
# With retry_failed=PATTERN, when every failure of a completed run has a message matching PATTERN (the regular
# expression of one known emulator fault), the failed test methods run once more, and their results replace the
# failed ones (results.py retry-merge, which notes it); any other failure stands, and is never run again.
# With wine_paths=1 the result files are named to the program as Windows paths (runner_path).
run_xunit() {
  local suite="$1" limit="$2"; shift 2
  local log="$logs/$suite.log" junit="$results/$suite.xml" arg rc
  arg="$(runner_path "$junit")"
  rm -f "$junit"
  bounded "$limit" "$@" -longRunning 120 -noColor -result-junit "$arg" >"$log" 2>&1
  rc=$?
  [[ $rc -eq 124 ]] && "${after_hang:-true}" >>"$log" 2>&1
  if [[ $rc -eq 124 && "${rerun_hung:-0}" == 1 ]]; then
    echo "!! $suite hung: still running after $limit s; kept as ${log#"$root"/}.hung, run once more"
    hang_report "$log" | sed 's/^/   /'
    mv "$log" "$log.hung"
    bounded "$limit" "$@" -longRunning 120 -noColor -result-junit "$arg" >"$log" 2>&1
    rc=$?
    [[ $rc -eq 124 ]] && "${after_hang:-true}" >>"$log" 2>&1
  fi
  if [[ $rc -eq 124 ]]; then
    hang_report "$log" | sed 's/^/   /'
    # The summary shows a failure's first lines: its name says which tests were still running; the text is the
    # processes' states (the earlier hung run's, if any, are in LOG.hung).
    local times="once" running
    [[ "${rerun_hung:-0}" == 1 ]] && times="twice"
    running="$(long_running "$log" | sed -E 's/^ *//' | paste -sd';' -)"
    hang_dump "$log" | head -40 >"$log.report" # what record quotes: the first 40 lines
    record "$suite" "$suite: hung $times (still running after $limit s: ${running:-no test named})" fail "exit 124" "$log.report"
    return
  fi
  long_running "$log"
  local methods again="$logs/$suite.again.xml" filters=() method failures
  if [[ -s "$junit" && -n "${retry_failed:-}" ]] &&
     methods="$(python3 "$root/build/results.py" retry-list "$junit" "$retry_failed")"; then
    for method in $methods; do filters+=(-method "$method"); done
    echo "!! $suite: run once more, their failures being the emulator's ($retry_failed): ${methods//$'\n'/ }"
    rm -f "$again"
    bounded "$limit" "$@" "${filters[@]}" -noColor -result-junit "$(runner_path "$again")" >"$logs/$suite.again.log" 2>&1
    if [[ -s "$again" ]]; then
      python3 "$root/build/results.py" retry-merge "$junit" "$again"
      read -r _ failures _ < <(python3 "$root/build/results.py" count "$junit")
      [[ $failures -eq 0 ]] && rc=0
    fi
  fi
  if [[ ! -s "$junit" ]]; then
    record "$suite" "$suite: the run ended without results (exit $rc)" fail "exit $rc" "$log"
  elif [[ $rc -ne 0 ]] && read -r _ f _ < <(python3 "$root/build/results.py" count "$junit") && [[ $f -eq 0 ]]; then
    record "$suite" "$suite: exit $rc with no failed test" fail "the runner exited $rc" "$log"
  fi
}

# wine_ready [NAME]: the wine prefix (WINEPREFIX, the clone's own unless given) exists before the first program runs in
# it: made once per run, so that stages and test cases starting side by side do not race to make it (~1.3 GB, 15 s).
# With NAME the stage has a prefix of its own, WINEPREFIX-NAME, and so a wineserver and driver hosts (winedevice.exe)
# of its own. The two managed wine lanes once hung in CI within the same minute, and both again on their reruns: in
# their shared prefix one winedevice had deadlocked (a ping killed mid-echo: nsiproxy.sys against ntoskrnl's IRP
# dispatch), and the mountmgr.sys it also hosts answered no volume query of any process after that. The tests no
# longer start ping; with a prefix each, whatever wedges a prefix stays in its lane, and wine_reset ends it there.
wine_ready() {
  [[ -n "${1:-}" ]] && export WINEPREFIX="$WINEPREFIX-$1"
  once "wine-prefix-${WINEPREFIX##*/}" serialized bash -c '/usr/lib/wine/wine64 wineboot -i && /usr/lib/wine/wineserver64 -w' \
    >"$logs/wineboot.log" 2>&1 || echo "!! $stage: wineboot failed; see ${logs#"$root"/}/wineboot.log"
}

# wine_pids PREFIX [all]: the wine processes (programs of /usr/lib/wine: loaders and wineserver) of wine prefix PREFIX,
# with "all" those of PREFIX-NAME too; never another process that only has WINEPREFIX in its environment (a shell).
wine_pids() {
  local files file pid
  files="$(grep -lzxF "WINEPREFIX=$1" /proc/[0-9]*/environ 2>/dev/null)"
  [[ "${2:-}" == all ]] && files+=" $(grep -lzF "WINEPREFIX=$1-" /proc/[0-9]*/environ 2>/dev/null)"
  for file in $files; do
    pid="${file#/proc/}" pid="${pid%/environ}"
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == /usr/lib/wine/* ]] && echo "$pid"
  done | sort -nu
}

# wine_leftovers: once every stage has ended (build/test.sh), names and ends what still runs in this clone's wine
# prefixes (WINEPREFIX and its per-lane WINEPREFIX-NAME). Wine leaves one now and then: a process whose creator was
# killed while wine was starting it (the process-tree tests kill a tree that keeps starting children), found waiting
# for ever in its start-up on the pipe of a wineserver that had exited. Nothing of Windows's behaviour is in that, so
# it is a note, not a failure; a wine program left running would otherwise keep its prefix's server alive.
wine_leftovers() {
  local pids pid line waited=0
  # A wineserver lingers a few seconds after its last program, and wine's services with it.
  while [[ -n "$(wine_pids "$WINEPREFIX" all)" ]] && ((waited < 15)); do sleep 1; waited=$((waited + 1)); done
  pids="$(wine_pids "$WINEPREFIX" all)"
  for pid in $pids; do
    line="$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)"
    # wine's own (the server, the services under system32) are there only because of what is named
    [[ "$line" == /usr/lib/wine/wineserver* || "$line" == 'C:\windows\system32\'* ]] ||
      echo "!! left running under wine after every stage ended, now ended: $pid ($(ps -o etimes= -p "$pid" | tr -d ' ') s) $line"
  done
  # shellcheck disable=SC2086 # a list of pids
  [[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null
  return 0
}

# wine_reset: after a hang (run_xunit's after_hang), lists every process of this stage's wine prefix, its wineserver and
# wine's own services included, which live outside the hung run's session, with each thread's state and kernel wait
# channel, and what winedbg sees every Windows thread of the prefix doing ("bt all", which found the ping deadlock);
# then ends them all, so that a rerun starts with a new server and driver hosts rather than wedged ones.
wine_reset() {
  local pids pid any
  pids="$(wine_pids "$WINEPREFIX")"
  echo "!! the processes of wine prefix ${WINEPREFIX##*/} left after the hang, and each thread's state and wait channel:"
  for pid in $pids; do
    echo "   $pid $( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)"
    thread_states "$pid" "      "
  done
  # winedbg attaches to one process (any but itself and start.exe) and, with "bt all", walks every process's threads.
  any="$(timeout 60 /usr/lib/wine/wine64 winedbg --command "info proc" 2>/dev/null |
    awk '$1 ~ /^[0-9a-f]+$/ && $0 !~ /start\.exe|winedbg\.exe/ { print $1; exit }')"
  if [[ -n "$any" ]]; then
    echo "!! winedbg bt all (attached to Windows process $any):"
    timeout 120 /usr/lib/wine/wine64 winedbg --command "bt all" "$((16#$any))" 2>&1 | grep -v '^0x[0-9a-f]*.*: ret'
  fi
  # Again: winedbg's own processes are of the prefix too.
  pids="$(wine_pids "$WINEPREFIX")"
  # shellcheck disable=SC2086 # a list of pids
  [[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null
  return 0
}
