#!/usr/bin/env bash
# The docs say what the code does (issue 18): every option `shunt --help`
# prints and every SHUNT_* variable the code reads is documented in shunt(1)
# and in docs/settings.md; every option a subcommand's --help prints is in
# its man page (made from docs/control.md, ab.md, lab.md); every man page
# renders without a groff warning.
set -euo pipefail

BUILD="${SHUNT_BUILD:?SHUNT_BUILD must point at the build directory}"
SRC="${SHUNT_SOURCE:?SHUNT_SOURCE must point at the source tree}"
SHUNT="$BUILD/tools/shunt"
MAN="$BUILD/man"
SETTINGS="$SRC/docs/settings.md"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# A page as text, ASCII (so that \- is '-'), wide enough that no option or
# variable name is broken across lines.
man_text() { LC_ALL=C MANWIDTH=250 man -l "$1" 2> /dev/null; }

pages=("$MAN"/*.[17].gz)
[ "${#pages[@]}" -ge 7 ] || fail "expected at least 7 man pages in $MAN, found ${#pages[@]}"

# 1. Each page renders, without a warning, and has the usual sections.
for page in "${pages[@]}"; do
  warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 > /dev/null)
  [ -z "$warnings" ] || fail "$(basename "$page") renders with warnings: $warnings"
  text=$(man_text "$page")
  grep -q '^NAME' <<< "$text" || fail "$(basename "$page") has no NAME section"
  grep -q '^SEE ALSO' <<< "$text" || fail "$(basename "$page") has no SEE ALSO section"
  [ "$(wc -l <<< "$text")" -gt 20 ] || fail "$(basename "$page") is nearly empty"
done
pass "${#pages[@]} man pages render without warnings: $(cd "$MAN" && echo *.gz)"

# 2. shunt --help's options and variables: in shunt(1) and docs/settings.md.
help=$("$SHUNT" --help)
shunt1=$(man_text "$MAN/shunt.1.gz")
mapfile -t options < <(grep -oE '^  (-h, )?--[a-z][a-z-]*' <<< "$help" | sed 's/^ *//; s/^-h, //')
options+=(-h)
mapfile -t help_vars < <(grep -oE 'SHUNT_[A-Z0-9_]+' <<< "$help" | sort -u)
[ "${#options[@]}" -ge 15 ] || fail "only ${#options[@]} options in shunt --help: ${options[*]}"
for o in "${options[@]}"; do
  grep -qF -- "$o" <<< "$shunt1" || fail "shunt --help prints $o, shunt(1) does not document it"
  grep -qF -- "\`$o" "$SETTINGS" || fail "shunt --help prints $o, docs/settings.md does not document it"
done
pass "the ${#options[@]} options of shunt --help are in shunt(1) and docs/settings.md"

# 3. The variables the code reads (a string literal "SHUNT_..." in the
# installed code; tools/settings.cc is the table itself, so not counted).
mapfile -t code_vars < <(cd "$SRC" && grep -rhoE '"SHUNT_[A-Z0-9_]+"' preload driver control stack tools \
                           --include='*.cc' --include='*.h' --exclude=settings.cc | tr -d '"' | sort -u)
[ "${#code_vars[@]}" -ge 15 ] || fail "found only ${#code_vars[@]} SHUNT_* variables in the code: ${code_vars[*]}"
env_section=$(sed -n '/^ENVIRONMENT/,/^FILES/p' <<< "$shunt1")
for v in "${code_vars[@]}" "${help_vars[@]}"; do
  grep -qE "(^|[^A-Z_])$v([^A-Z0-9_]|$)" <<< "$env_section" ||
    fail "$v is read by the code or listed by --help, but not in shunt(1)'s ENVIRONMENT"
  grep -qF "\`$v\`" "$SETTINGS" || fail "$v is read by the code or listed by --help, but not in docs/settings.md"
  grep -qE "(^| )$v( |$)" <<< "$(tr -s ' ' <<< "$help" | tr '[]' '  ')" ||
    fail "$v is read by the code but shunt --help does not list it"
done
pass "the ${#code_vars[@]} SHUNT_* variables the code reads are in shunt(1), docs/settings.md and --help"

# ... and nothing is documented that the code no longer reads.
mapfile -t documented < <(grep -oE '^\| [^|]* \| `SHUNT_[A-Z0-9_]+`' "$SETTINGS" | grep -oE 'SHUNT_[A-Z0-9_]+')
for v in "${documented[@]}"; do
  printf '%s\n' "${code_vars[@]}" | grep -x "$v" > /dev/null || fail "docs/settings.md documents $v, which no code reads"
done
pass "every variable in docs/settings.md's table is read by the code"

# 4. Each subcommand's options: in its man page.
for cmd in ss stat fault ab lab; do
  text=$(man_text "$MAN/shunt-$cmd.1.gz")
  mapfile -t sub_options < <("$SHUNT" "$cmd" --help | grep -oE '(^|[][ (,|])--?[a-z][a-z0-9-]*' |
                             sed 's/^[][ (,|]//' | sort -u)
  [ "${#sub_options[@]}" -ge 1 ] || fail "shunt $cmd --help prints no options"
  for o in "${sub_options[@]}"; do
    grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" <<< "$text" ||
      fail "shunt $cmd --help prints $o, shunt-$cmd(1) does not document it"
  done
  pass "shunt $cmd: ${sub_options[*]} are in shunt-$cmd(1)"
done

# 5. shunt(1) names every subcommand, and every page it refers to exists.
for cmd in ss stat fault ab lab; do
  grep -q "shunt-$cmd(1)" <<< "$shunt1" || fail "shunt(1) does not refer to shunt-$cmd(1)"
done
for ref in $(for page in "${pages[@]}"; do man_text "$page"; done | grep -oE 'shunt-[a-z]+\([17]\)' | sort -u); do
  name=${ref%%(*}
  section=${ref#*(}
  section=${section%)}
  [ -f "$MAN/$name.$section.gz" ] || fail "a page refers to $ref, which is not built"
done
pass "shunt(1) refers to each subcommand's page; every shunt-*(N) reference exists"
