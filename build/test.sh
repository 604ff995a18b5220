#!/usr/bin/env bash
# Builds everything from nothing and runs every test stage (build/stages.sh lists them; docs/build.md describes them),
# then sums their results, read from the JUnit XML each stage leaves under artifacts/test-results/<stage>/.
#   bash build/test.sh                       every stage
#   bash build/test.sh --stage managed-wine  one stage (--stage again, a comma list or a pattern such as 'native-*'
#                                            for several)
#   bash build/test.sh --list                the stages and what each runs
#   --jobs N                                 stages that run at the same time (default 5; builds take turns anyway)
# Per stage it prints "NAME: N passed, N failed, N skipped", its skip reasons and its failures; the last line sums
# them all: "tests: N passed, N failed, N skipped". A stage that could not run counts as a failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=stages.sh
source "$root/build/stages.sh"

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "$1"; }
patterns=() jobs="${NI_JOBS:-5}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --list)       ni_stages | awk -F'|' '{ printf "%-24s %s\n", $1, $3 }'; exit 0 ;;
    --list-names) ni_stages | cut -d'|' -f1; exit 0 ;;
    --stage)      IFS=, read -ra more <<<"${2:?--stage needs a name}"; patterns+=("${more[@]}"); shift 2 ;;
    --jobs)       jobs="${2:?--jobs needs a number}"; shift 2 ;;
    -h|--help)    usage 0 ;;
    *)            echo "test.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
done
[[ ${#patterns[@]} -gt 0 ]] || patterns=('*')

# The selected stages, in the registry's order; a pattern that names no stage is an error.
declare -A command=() matched=()
selected=()
while IFS='|' read -r name cmd _; do
  for pattern in "${patterns[@]}"; do
    # shellcheck disable=SC2053 # a pattern on purpose
    if [[ "$name" == $pattern ]]; then selected+=("$name"); command[$name]="$cmd"; matched[$pattern]=1; break; fi
  done
done < <(ni_stages)
for pattern in "${patterns[@]}"; do
  [[ -n "${matched[$pattern]:-}" ]] ||
    { echo "test.sh: no stage matches '$pattern'; the stages:" >&2; ni_stages | cut -d'|' -f1 >&2; exit 2; }
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1 WINEDEBUG=-all
NI_HOST_RID="$(bash "$root/build/host-rid.sh")" || exit 2
export NI_HOST_RID
results="$root/artifacts/test-results"
consoles="$root/artifacts/test-logs"
# Shared by the stages of this run only: what was built once (build/stages/lib.sh, once).
export NI_RUN_DIR="$root/artifacts/run"
rm -rf "$NI_RUN_DIR"
mkdir -p "$NI_RUN_DIR" "$results" "$consoles"
echo "== host $NI_HOST_RID; stages: ${selected[*]}"
# Everything the selected stages need, in one go (as root it installs; otherwise each stage records what it misses).
bash "$root/build/prereqs.sh" "${selected[@]}" || echo "!! prerequisites missing; the stages that need them fail"

declare -A started=() pid_of=()
# start NAME: runs the stage in the background, in a process group of its own (so that an interrupt can stop it
# whole), its console output in artifacts/test-logs/NAME.console and bash's "times" of it in the run directory.
start() {
  local name="$1" script args
  read -r script args <<<"${command[$name]}"
  rm -rf "${results:?}/$name"
  started[$name]=$(date +%s)
  # shellcheck disable=SC2086 # the arguments are words
  NI_TIMES="$NI_RUN_DIR/$name.times" setsid bash -c 'bash "$@"; status=$?; times >"$NI_TIMES"; exit $status' \
    stage "$root/build/stages/$script" $args >"$consoles/$name.console" 2>&1 &
  pid_of[$!]="$name"
  echo "-- $name started"
}

stop() {
  echo "!! interrupted: stopping ${pid_of[*]}"
  local pid
  for pid in "${!pid_of[@]}"; do kill -TERM -- -"$pid" 2>/dev/null; done
  exit 130
}
trap stop INT TERM

# finish NAME STATUS: shows what the stage printed, its time, and makes sure a stage that ended badly is never green.
finish() {
  local name="$1" status="$2" wall cpu counts
  wall=$(($(date +%s) - started[$name]))
  # The second line of bash's "times": the user and system time of the stage's processes (those it waited for).
  cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] } printf "%d", total }' \
    "$NI_RUN_DIR/$name.times" 2>/dev/null)
  printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "${cpu:-?}" "$status" >>"$NI_RUN_DIR/timings"
  echo "== $name: ${wall} s (cpu ${cpu:-?} s), exit $status"
  sed 's/^/   /' "$consoles/$name.console"
  shopt -s nullglob
  local files=("$results/$name"/*.xml "$results/$name"/*.trx)
  shopt -u nullglob
  counts=$([[ ${#files[@]} -gt 0 ]] && python3 "$root/build/results.py" count "${files[@]}")
  if [[ $status -ne 0 && "${counts:-0 0 0}" =~ ^[0-9]+\ 0\  ]]; then
    python3 "$root/build/results.py" record "$results/$name/stage.xml" --suite stage --status fail \
      --name "$name: the stage ended with exit $status and recorded no failure" --log "$consoles/$name.console"
  fi
}

queue=("${selected[@]}")
running=0
while [[ ${#queue[@]} -gt 0 || $running -gt 0 ]]; do
  while [[ ${#queue[@]} -gt 0 && $running -lt $jobs ]]; do
    start "${queue[0]}"; queue=("${queue[@]:1}"); running=$((running + 1))
  done
  wait -n -p done_pid; status=$?
  [[ -n "${pid_of[$done_pid]:-}" ]] || continue
  finish "${pid_of[$done_pid]}" "$status"
  unset "pid_of[$done_pid]"
  running=$((running - 1))
done

echo "== stage times (wall s, cpu s): $(awk -F'\t' '{ printf "%s %s/%s  ", $1, $2, $3 }' "$NI_RUN_DIR/timings")"
# Every stage has ended: what still runs in this clone's wine prefixes was left behind (build/stages/lib.sh).
bash -c 'source "$1/build/stages/lib.sh" && wine_leftovers' stage "$root"
echo "== results (JUnit XML under artifacts/test-results/<stage>/)"
python3 "$root/build/results.py" summary "$results" --stages "$(IFS=,; echo "${selected[*]}")"
