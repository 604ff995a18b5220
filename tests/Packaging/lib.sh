# What the consumption tests share (sourced by run.sh, which consumes the .nupkg, and vendoring.sh, which references
# the project): one JUnit case per scenario, and the checks of what a publish put where. The sourcing script sets
# root, logs and junit first.
wine="/usr/lib/wine/wine64"
wine32="/usr/lib/wine/wine"
passed=0 failed=0 skipped=0

record() { python3 "$root/build/results.py" record "$junit" --suite consumption "$@"; }

# scenario NAME COMMAND...: runs COMMAND (a function), logging to $logs/NAME.log; one case, pass or fail.
scenario() {
  local name="$1"; shift
  if "$@" >"$logs/$name.log" 2>&1; then
    echo "PASS $name"; passed=$((passed + 1))
    record --name "$name" --status pass
  else
    echo "FAIL $name (log: $logs/$name.log)"; tail -n 15 "$logs/$name.log" | sed 's/^/    /'; failed=$((failed + 1))
    record --name "$name" --status fail --message "scenario failed (log: ${logs#"$root"/}/$name.log)" --log "$logs/$name.log"
  fi
}

# skip NAME REASON: a scenario this machine cannot run, with the reason.
skip() {
  echo "SKIP $1: $2"; skipped=$((skipped + 1))
  record --name "$1" --status skip --message "$2"
}

summary() { # LABEL: the closing line, and the exit status
  echo "$1: $passed passed, $failed failed, $skipped skipped"
  [[ $failed -eq 0 ]]
}

same_file() { cmp -s "$1" "$2" || { echo "$1 is not $2"; return 1; }; }

only_native() { # DIR FILE: FILE is the only native library of ours in DIR, and no runtimes/ folder
  local found; found=$(find "$1" \( -name 'libnoinherit*' -o -name 'noinherit*' \) | sort)
  [[ "$found" == "$1/$2" && ! -d "$1/runtimes" ]] || { echo "native files in $1: $found"; return 1; }
}

no_native() { # DIR EXE: no library of ours beside the NativeAOT executable, which does not load one either
  [[ -z "$(find "$1" -name 'libnoinherit*' -o -name 'noinherit*.dll')" ]] || { echo "a native library beside $2"; return 1; }
  ! readelf -d "$1/$2" | grep -q libnoinherit || { echo "$2 loads libnoinherit"; return 1; }
}

# architecture FILE RID: FILE is a native library built for RID (machine, word size, and for Linux the C library:
# glibc symbol versions, or musl's libc.so and none).
architecture() {
  local file="$1" rid="$2" description
  description="$(file -b "$file")"
  echo "$file: $description"
  case "$rid" in
    linux-x64|linux-musl-x64)   [[ "$description" == *"ELF 64-bit"*"x86-64"* ]] ;;
    linux-arm64|linux-musl-arm64) [[ "$description" == *"ELF 64-bit"*"aarch64"* ]] ;;
    linux-arm)                  [[ "$description" == *"ELF 32-bit"*"ARM, EABI5"* ]] ;;
    win-x64)                    [[ "$description" == *"PE32+"*"x86-64"* ]] ;;
    win-x86)                    [[ "$description" == *"PE32 "*"Intel 80386"* ]] ;;
    win-arm64)                  [[ "$description" == *"PE32+"*"Aarch64"* ]] ;;
    *)                          echo "no expectation for $rid"; return 1 ;;
  esac || { echo "$file is not a $rid library"; return 1; }
  case "$rid" in
    linux-musl-*) ! readelf -V "$file" | grep -q GLIBC && readelf -d "$file" | grep -q 'NEEDED.*\[libc\.so\]' ||
                    { echo "$file is not linked against musl alone"; return 1; } ;;
    linux-*)      readelf -V "$file" | grep -q GLIBC_ || { echo "$file has no glibc symbol versions"; return 1; } ;;
  esac
}
