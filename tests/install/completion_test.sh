#!/usr/bin/env bash
# The bash completion (completion/shunt): subcommands, every option each
# --help prints, option values, fault rule words (every word of the rule
# language in docs/faults.md), the PIDs of the programs on shunt from their
# control sockets, rule ids. The function is called as bash calls it, with
# COMP_WORDS and COMP_CWORD set, in a shell without bash-completion.
set -euo pipefail

BUILD="${SHUNT_BUILD:?SHUNT_BUILD must point at the build directory}"
SRC="${SHUNT_SOURCE:?SHUNT_SOURCE must point at the source tree}"
SHUNT="$BUILD/tools/shunt"
COMPLETION="$SRC/completion/shunt"
WORK="$(mktemp -d /tmp/shunt-completion.XXXXXX)"
sleeper=""
cleanup() {
  [ -z "$sleeper" ] || kill "$sleeper" 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# The candidates for the command line "$@" (the last word is the one being
# completed), one per line, sorted. $2 to the function is the word without
# an opening quote, as bash passes it.
complete_line() {
  bash --norc --noprofile -c '
    source "$1"
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(( $# - 1 ))
    cur=${COMP_WORDS[COMP_CWORD]}
    quote=$(printf "\047")
    cur=${cur#[\"$quote]}
    _shunt shunt "$cur" "${COMP_WORDS[COMP_CWORD - 1]-}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@" | sort -u
}

# Fails unless every word of $2 (one per line) is among the candidates $1.
expect_all() {
  local candidates=$1 words=$2 what=$3 w
  for w in $words; do
    grep -qxF -- "$w" <<< "$candidates" || fail "$what: '$w' is not offered (offered: $(echo $candidates))"
  done
}

# 1. Subcommands.
expect_all "$(complete_line shunt '')" "ss stat fault ab lab" "shunt <TAB>"
expect_all "$(complete_line shunt la)" "lab" "shunt la<TAB>"
# The first word may also be the program (`shunt curl ...` without `--`).
expect_all "$(complete_line shunt bas)" "bash" "shunt bas<TAB>"
pass "subcommands"

# 2. The wrapper's options: exactly those of shunt --help, and '--'.
help_options=$("$SHUNT" --help | grep -oE '^  (-h, )?--[a-z][a-z-]*' | sed 's/^ *//; s/^-h, /-h\n/' | sort -u)
offered=$(complete_line shunt -)
[ "$offered" = "$(printf '%s\n' $help_options -- | sort -u)" ] ||
  fail "shunt -<TAB> offers $(echo $offered); shunt --help has $(echo $help_options) (and --)"
[ "$(complete_line shunt --log warn --fa)" = "--fault" ] || fail "an option after an option and its value"
pass "options: the $(wc -l <<< "$help_options") of shunt --help"

# 3. Each subcommand's options: all those its --help prints.
sub_options() { "$SHUNT" "$@" --help | grep -oE '(^|[][ (,|])--?[a-z][a-z0-9-]*' | sed 's/^[][ (,|]//' | sort -u; }
expect_all "$(complete_line shunt ss -)" "$(sub_options ss)" "shunt ss -<TAB>"
expect_all "$(complete_line shunt stat -)" "$(sub_options stat)" "shunt stat -<TAB>"
expect_all "$(complete_line shunt ab -)" "$(sub_options ab | grep -vx -- --busy-poll)" "shunt ab -<TAB>"
expect_all "$(complete_line shunt lab -)" "$(sub_options lab)" "shunt lab -<TAB>"
expect_all "$(complete_line shunt fault 1 list -)" "$(sub_options fault | grep -vxE -- '-h|--help')" \
  "shunt fault PID list -<TAB>"
expect_all "$(complete_line shunt fault '')" "-h --help" "shunt fault <TAB>"
expect_all "$(complete_line shunt fault 1 '')" "list add del log" "shunt fault PID <TAB>"
expect_all "$(complete_line shunt lab '')" "up down status" "shunt lab <TAB>"
pass "subcommand options and verbs"

# 4. Option values, as `--opt value`, `--opt=value` (split at '=' as bash
# does) and `--opt=value` in one word.
expect_all "$(complete_line shunt --log '')" "error warn info debug" "--log <TAB>"
[ "$(complete_line shunt --loopback = k)" = "kernel" ] || fail "--loopback=k<TAB>"
[ "$(complete_line shunt --fork=c)" = "--fork=child" ] || fail "--fork=c<TAB> as one word"
[ "$(complete_line shunt --stats '')" = "$(printf '0\n1')" ] || fail "--stats <TAB>"
expect_all "$(complete_line shunt --packet '')" "lo" "--packet <TAB> (interfaces)"
expect_all "$(complete_line shunt ab --scenario '')" \
  "$("$SHUNT" ab --help | grep -- '--scenario NAME' | grep -oE '[a-z0-9]+( \||\s*\()' | grep -oE '^[a-z0-9]+')" \
  "shunt ab --scenario <TAB>"
expect_all "$(complete_line shunt ab --device '')" "tap packet" "shunt ab --device <TAB>"
expect_all "$(complete_line shunt ab --shunt-option '')" "$help_options" "shunt ab --shunt-option <TAB>"
touch "$WORK/capture.pcapng"
[ "$(complete_line shunt --pcap "$WORK/cap")" = "$WORK/capture.pcapng" ] || fail "--pcap <TAB> (files)"
pass "option values"

# 5. Fault rules: the direction, then every action, selection and match word
# of docs/faults.md (the first column of its tables, up to '=' or a value).
rule_words=$(sed -n '/^### Actions/,/^## How rules combine/p' "$SRC/docs/faults.md" |
             grep -oE '^\| [^|]+' | grep -oE '`[^`]+`' | tr -d '`' |
             sed -E 's/^(len[<>]=|[a-z]+=).*/\1/' | grep -vE '%|^word$' | sort -u)
[ "$(wc -l <<< "$rule_words")" -ge 25 ] || fail "found only $(echo $rule_words) in docs/faults.md"
expect_all "$(complete_line shunt fault 1 add '')" "in out both" "shunt fault PID add <TAB>"
expect_all "$(complete_line shunt fault 1 add in '')" "$rule_words" "shunt fault PID add in <TAB>"
expect_all "$(complete_line shunt --fault "'")" "in out both seed=" "--fault '<TAB>"
[ "$(complete_line shunt --fault "'in dr")" = "in drop" ] || fail "--fault 'in dr<TAB> gives $(complete_line shunt --fault "'in dr")"
[ "$(complete_line shunt --fault = "'both drop 2%; o")" = "both drop 2%; out" ] || fail "a second rule after ';'"
expect_all "$(complete_line shunt --fault "'out drop 1% " | sed 's/^out drop 1% //')" "$rule_words" \
  "--fault 'out drop 1% <TAB>"
[ "$(complete_line shunt --pcap-filter "'port 80 or a")" = "$(printf 'port 80 or and\nport 80 or arp')" ] ||
  fail "--pcap-filter 'port 80 or a<TAB>"
pass "fault rule words: $(echo $rule_words)"

# 6. PIDs: the control sockets of live processes in $SHUNT_CONTROL_DIR,
# else $XDG_RUNTIME_DIR/shunt; not a socket of a process that is gone, nor
# a file that is not a socket.
sleep 60 &
sleeper=$!
mksock() { python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1"; }
mkdir -p "$WORK/ctl" "$WORK/xdg/shunt"
mksock "$WORK/ctl/$sleeper.sock"
mksock "$WORK/ctl/999999999.sock"  # above pid_max: no such process
touch "$WORK/ctl/$$.sock" "$WORK/ctl/tcp-secret-0"
got=$(SHUNT_CONTROL_DIR="$WORK/ctl" complete_line shunt ss '')
[ "$got" = "$sleeper" ] || fail "shunt ss <TAB> gives '$(echo $got)', not the one live process $sleeper"
got=$(SHUNT_CONTROL_DIR="$WORK/ctl" complete_line shunt stat '')
[ "$got" = "$sleeper" ] || fail "shunt stat <TAB> gives '$(echo $got)'"
got=$(SHUNT_CONTROL_DIR="$WORK/ctl" complete_line shunt fault '')
[ "$(grep -v -- '^-' <<< "$got")" = "$sleeper" ] || fail "shunt fault <TAB> gives '$(echo $got)'"
mv "$WORK/ctl/$sleeper.sock" "$WORK/xdg/shunt/"
got=$(unset SHUNT_CONTROL_DIR; XDG_RUNTIME_DIR="$WORK/xdg" complete_line shunt ss '')
[ "$got" = "$sleeper" ] || fail "shunt ss <TAB> with XDG_RUNTIME_DIR gives '$(echo $got)'"
pass "PIDs of the programs on shunt"

# 7. Rule ids for `del`, from `shunt fault PID list` (a stand-in prints it).
cat > "$WORK/fake-shunt" << 'EOF'
#!/bin/sh
[ "$1 $2 $3" = "fault 42 list" ] || exit 1
printf ' id      matched     injected  rule\n  1        20516         1013  both drop 5%%\n  3  311  6  in duplicate every=50\n'
EOF
chmod +x "$WORK/fake-shunt"
got=$(bash --norc --noprofile -c 'source "$1"; COMP_WORDS=("$2" fault 42 del ""); COMP_CWORD=4
      _shunt shunt "" del; printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$WORK/fake-shunt")
[ "$got" = "$(printf '1\n3')" ] || fail "shunt fault 42 del <TAB> gives '$(echo $got)', not the ids 1 3"
pass "rule ids for del"

# 8. After `--` or the program: the program, then its own arguments (files
# here, without bash-completion).
expect_all "$(complete_line shunt -- bas)" "bash" "shunt -- bas<TAB>"
expect_all "$(complete_line shunt --log warn -- bas)" "bash" "shunt --log warn -- bas<TAB>"
got=$(complete_line shunt curl "$WORK/cap")
[ "$got" = "$WORK/capture.pcapng" ] || fail "shunt curl <TAB> should complete curl's arguments, gave '$got'"
pass "the program and its arguments"
