#!/usr/bin/env bash
# Stage hotrestart: samples/HotRestart restarts itself five times under load (tests/HotRestartLoad: 200 clients on
# loopback for 20 s, kept-alive and new connections); each check of the load test is one case (no failed request, no
# refused connection, every restart done, old servers gone, the listening socket held by the current server alone).
# Then the negative control: the same load across stop-then-start restarts must see dropped requests.
#   build/stages/hotrestart.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stage_init hotrestart
server="$root/samples/HotRestart/bin/Release/net10.0/HotRestart"
load="$root/tests/HotRestartLoad/bin/Release/net10.0/HotRestartLoad"

build() {
  dotnet build "$root/samples/HotRestart" -c Release && dotnet build "$root/tests/HotRestartLoad" -c Release
}
if ! serialized build >"$logs/build.log" 2>&1; then
  failed hotrestart "dotnet build HotRestart and HotRestartLoad" "$logs/build.log"
  exit 1
fi

# run NAME LOG ARGS...: the load test; each "CHECK pass|fail NAME: DETAIL" line it prints becomes a case.
run() {
  local name="$1" log="$2"; shift 2
  bounded 150 "$load" "$server" "$@" >"$log" 2>&1
  local status=$?
  if ! grep -q '^CHECK ' "$log"; then
    record hotrestart "$name" fail "the load test ended (exit $status) before its checks" "$log"
    return
  fi
  local verdict check detail
  while IFS= read -r line; do
    verdict="${line#CHECK }"; verdict="${verdict%% *}"
    check="${line#CHECK "$verdict" }"; detail="${check#*: }"; check="${check%%: *}"
    record hotrestart "$name: $check" "$verdict" "$detail" "$log"
  done < <(grep '^CHECK ' "$log")
}
run "five restarts under load" "$logs/restarts.log" 20 200 5
run "negative control" "$logs/control.log" 6 200 2 --control
exit 0
