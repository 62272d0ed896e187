#!/usr/bin/env bash
# An installed shunt (cmake --install into a DESTDIR, docs/install.md) runs
# real programs on the stack: curl as a client and a Python server, each
# with the installed libshunt.so mapped by its absolute path; the installed
# `shunt ss` sees the server, and the installed bash completion offers its
# PID and its fault rule ids.
source "$(dirname "$0")/lib.sh"

DESTDIR="$WORK/root" cmake --install "$BUILD" --prefix /usr > "$WORK/install.log" ||
  fail "cmake --install: $(tail -5 "$WORK/install.log")"
SHUNT="$WORK/root/usr/bin/shunt"  # on_stack runs this one from now on
libdir=$(realpath "$WORK/root/usr/lib/shunt")
completion="$WORK/root/usr/share/bash-completion/completions/shunt"

# curl through the installed shunt.
mkdir -p "$WORK/www"
head -c $((1 << 20)) /dev/urandom > "$WORK/www/file.bin"
(cd "$WORK/www" && in_ns python3 -m http.server --bind "$PEER" 8000 > /dev/null 2>&1) &
wait_port "$PEER" 8000
on_stack curl -sS -o "$WORK/got.bin" "http://$PEER:8000/file.bin"
[ "$(sha "$WORK/got.bin")" = "$(sha "$WORK/www/file.bin")" ] || fail "curl through the installed shunt: file differs"
pass "curl on the installed shunt"

# A server through the installed shunt: its maps and environment name the
# installed library by absolute path.
on_stack python3 -m http.server --bind "$STACK" 8080 > /dev/null 2>&1 &
wait_port "$STACK" 8080
server=""
for pid in $(ip netns pids "$NS"); do
  if grep -q "python3" "/proc/$pid/comm" 2> /dev/null && grep -q libshunt "/proc/$pid/maps" 2> /dev/null; then
    server=$pid
  fi
done
[ -n "$server" ] || fail "no python3 with libshunt mapped in the namespace"
grep -qF "$libdir/libshunt.so.$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")" \
  "/proc/$server/maps" || fail "the server maps $(grep -o '/[^ ]*libshunt[^ ]*' "/proc/$server/maps" | head -1)"
preload=$(tr '\0' '\n' < "/proc/$server/environ" | sed -n 's/^LD_PRELOAD=//p')
[ "$preload" = "$libdir/libshunt.so" ] || fail "the server's LD_PRELOAD is '$preload'"
in_ns curl -sS -o "$WORK/got2.bin" "http://$STACK:8080/" || fail "curl from the kernel to the server on the stack"
pass "a server on the installed shunt (pid $server) preloads $libdir/libshunt.so"

# The installed shunt ss sees it; the installed completion offers its PID,
# and the id of a rule added to it.
"$SHUNT" ss -l -n "$server" | grep -q ":8080" || fail "installed shunt ss -l: $("$SHUNT" ss -l -n "$server")"
"$SHUNT" fault "$server" add 'in delay=1ms' > /dev/null || fail "installed shunt fault add"
complete_line() {
  bash --norc --noprofile -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    _shunt shunt "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@"
}
complete_line "$SHUNT" ss "" | grep -qx "$server" || fail "completion of shunt ss: $(complete_line "$SHUNT" ss "")"
[ "$(complete_line "$SHUNT" fault "$server" del "")" = 1 ] ||
  fail "completion of shunt fault $server del: '$(complete_line "$SHUNT" fault "$server" del "")'"
pass "installed shunt ss and fault reach it; the completion offers pid $server and rule id 1"
stop_stack_programs
