#!/usr/bin/env bash
# Installing (docs/install.md): `cmake --install` into a DESTDIR puts each
# file where it belongs; the installed `shunt` preloads the installed
# library by absolute path from anywhere, and SHUNT_LIBRARY overrides it;
# man finds the installed pages; the .deb made by cpack has the right
# control fields (Depends: the packages of the libraries the binaries
# need, found with objdump) and the same files, and works unpacked.
# Needs no root: `--packet lo` with a program that opens no socket
# preloads the library without starting the stack.
set -euo pipefail

BUILD="${SHUNT_BUILD:?SHUNT_BUILD must point at the build directory}"
WORK="$(mktemp -d /tmp/shunt-install.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "no project version in $BUILD/CMakeCache.txt"
major=${version%%.*}

# The files of an installed tree under $1 (relative, sorted; links marked).
tree() { (cd "$1" && find . \( -type f -o -type l \) -printf '%p %y\n' | sed 's/ f$//; s/ l$/ (link)/' | sort); }

# Checks the layout under the prefix $1 (a DESTDIR install, or the
# unpacked .deb).
check_layout() {
  local prefix=$1 what=$2 files
  files=$(tree "$prefix")
  for f in ./bin/shunt "./lib/shunt/libshunt.so.$version" "./lib/shunt/libshunt.so.$major (link)" \
           "./lib/shunt/libshunt.so (link)" ./share/bash-completion/completions/shunt \
           ./share/man/man1/shunt.1.gz ./share/man/man1/shunt-ss.1.gz ./share/man/man1/shunt-stat.1.gz \
           ./share/man/man1/shunt-fault.1.gz ./share/man/man1/shunt-ab.1.gz ./share/man/man1/shunt-lab.1.gz \
           ./share/man/man7/shunt-faults.7.gz ./share/doc/shunt/README.md ./share/doc/shunt/settings.md \
           ./share/doc/shunt/faults.md ./share/doc/shunt/install.md ./share/doc/shunt/img/ab-iperf3.png; do
    grep -qxF "$f" <<< "$files" || fail "$what: no $f in $(echo $files)"
  done
  # Nothing else in bin/ and lib/: no test, benchmark or build tool.
  local extra
  extra=$(grep -E '^\./(bin|lib)/' <<< "$files" | grep -vxF -e ./bin/shunt -e "./lib/shunt/libshunt.so.$version" \
          -e "./lib/shunt/libshunt.so.$major (link)" -e "./lib/shunt/libshunt.so (link)" || true)
  [ -z "$extra" ] || fail "$what: unexpected files: $(echo $extra)"
  [ "$(readlink "$prefix/lib/shunt/libshunt.so")" = "libshunt.so.$major" ] || fail "$what: libshunt.so link"
  objdump -p "$prefix/lib/shunt/libshunt.so.$version" | grep -E "SONAME +libshunt\.so\.$major$" > /dev/null ||
    fail "$what: libshunt.so.$version has no SONAME libshunt.so.$major"
}

# Checks that the shunt under $1 preloads the library under $1 by its
# absolute path, called by an absolute path, a relative one and a symlink.
check_preload() {
  local prefix=$1 what=$2 libdir preload maps
  libdir=$(realpath "$prefix/lib/shunt")
  preload=$("$prefix/bin/shunt" --packet lo -- printenv LD_PRELOAD)
  [ "$preload" = "$libdir/libshunt.so" ] || fail "$what: LD_PRELOAD is '$preload', not $libdir/libshunt.so"
  preload=$(cd "$prefix" && ./bin/shunt --packet lo -- printenv LD_PRELOAD)
  [ "$preload" = "$libdir/libshunt.so" ] || fail "$what: run as ./bin/shunt, LD_PRELOAD is '$preload'"
  mkdir -p "$WORK/links"
  ln -sf "$prefix/bin/shunt" "$WORK/links/shunt"
  preload=$(cd / && PATH="$WORK/links:$PATH" shunt --packet lo -- printenv LD_PRELOAD)
  [ "$preload" = "$libdir/libshunt.so" ] || fail "$what: run through a symlink on PATH, LD_PRELOAD is '$preload'"
  # The program really has it mapped, from the installed file.
  maps=$("$prefix/bin/shunt" --packet lo -- cat /proc/self/maps)
  grep -qF "$libdir/libshunt.so.$version" <<< "$maps" || fail "$what: libshunt.so is not mapped into the program"
  # An LD_PRELOAD already set is kept, after the library.
  preload=$(LD_PRELOAD=/nonexistent.so "$prefix/bin/shunt" --packet lo -- printenv LD_PRELOAD 2> /dev/null)
  [ "$preload" = "$libdir/libshunt.so:/nonexistent.so" ] || fail "$what: LD_PRELOAD kept as '$preload'"
}

# 1. cmake --install, as a distribution builds a package: DESTDIR, prefix /usr.
DESTDIR="$WORK/root" cmake --install "$BUILD" --prefix /usr > "$WORK/install.log" ||
  fail "cmake --install: $(tail -5 "$WORK/install.log")"
prefix="$WORK/root/usr"
check_layout "$prefix" "cmake --install"
pass "cmake --install: bin/shunt, lib/shunt/libshunt.so.$version (SONAME libshunt.so.$major), man pages, docs, completion"

check_preload "$prefix" "installed"
pass "the installed shunt preloads $prefix/lib/shunt/libshunt.so by absolute path"

# 2. SHUNT_LIBRARY overrides, made absolute; a missing one is an error.
lib=$(realpath "$BUILD/preload")/libshunt.so
preload=$(SHUNT_LIBRARY="$BUILD/preload/libshunt.so" "$prefix/bin/shunt" --packet lo -- printenv LD_PRELOAD)
[ "$preload" = "$lib" ] || fail "SHUNT_LIBRARY: LD_PRELOAD is '$preload', not $lib"
preload=$(cd "$BUILD" && SHUNT_LIBRARY=preload/libshunt.so "$prefix/bin/shunt" --packet lo -- printenv LD_PRELOAD)
[ "$preload" = "$lib" ] || fail "a relative SHUNT_LIBRARY: LD_PRELOAD is '$preload', not $lib"
set +e
err=$(SHUNT_LIBRARY="$WORK/none.so" "$prefix/bin/shunt" --packet lo -- true 2>&1)
status=$?
set -e
[ "$status" = 2 ] || fail "a missing SHUNT_LIBRARY: exit status $status, not 2"
grep -qF "SHUNT_LIBRARY=$WORK/none.so" <<< "$err" || fail "a missing SHUNT_LIBRARY: '$err'"
pass "SHUNT_LIBRARY overrides (absolute), and a missing one stops shunt: $err"

# 3. man finds the installed pages by name.
for page in "1 shunt" "1 shunt-ss" "7 shunt-faults"; do
  set -- $page
  found=$(man -M "$prefix/share/man" -w "$1" "$2" 2> /dev/null) || fail "man -M ... $1 $2 finds nothing"
  [ "$found" = "$prefix/share/man/man$1/$2.$1.gz" ] || fail "man $1 $2 finds $found"
  warnings=$(MANWIDTH=80 man --warnings -M "$prefix/share/man" "$1" "$2" 2>&1 > /dev/null)
  [ -z "$warnings" ] || fail "man $1 $2: $warnings"
done
pass "man finds and renders the installed shunt(1), shunt-ss(1), shunt-faults(7)"

# 4. The .deb, made with the configuration `scripts/package` uses.
cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/pkg" > "$WORK/cpack.log" 2>&1 ||
  fail "cpack: $(tail -20 "$WORK/cpack.log")"
arch=$(dpkg --print-architecture)
deb="$WORK/pkg/shunt_${version}_$arch.deb"
[ -f "$deb" ] || fail "no $deb: $(ls "$WORK/pkg")"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = shunt ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), not $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ "$(field Section)" = net ] || fail "Section: $(field Section)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
# (No `| head -1` under pipefail: head exits first and the writer's SIGPIPE
# fails the pipeline.)
description=$(field Description)
description=${description%%$'\n'*}
grep -q 'TCP/IP stack' <<< "$description" || fail "Description: $description"
# Depends: the package of every shared library the binaries need.
depends=$(field Depends)
# (dpkg knows a file by the path its package ships, with or without /usr.)
pkg_of() {
  local p
  for p in "$1" "$(realpath "$1")" "${1#/usr}" "/usr$1"; do
    dpkg -S "$p" 2> /dev/null | head -1 | cut -d: -f1 | grep . && return 0
  done
  return 1
}
for bin in "$prefix/bin/shunt" "$prefix/lib/shunt/libshunt.so.$version"; do
  for so in $(objdump -p "$bin" | awk '/NEEDED/ { print $2 }'); do
    [[ $so == ld-linux* ]] && continue
    path=$(ldd "$bin" | awk -v so="$so" '$1 == so && $2 == "=>" { print $3 }')
    [ -n "$path" ] || fail "ldd does not resolve $so for $bin"
    pkg=$(pkg_of "$path") || fail "no package owns $path ($so)"
    tr ',' '\n' <<< "$depends" | sed 's/^ *//; s/ .*//' | grep -xF "$pkg" > /dev/null || fail "Depends '$depends' lacks $pkg (for $so)"
  done
done
for p in tshark gnuplot iperf3; do
  grep -qE "(^|[ ,|])$p([ ,|-]|$)" <<< "$(field Suggests)" || fail "Suggests '$(field Suggests)' lacks $p"
done
pass "the .deb: shunt $version $arch, Depends: $depends"

# The same files as cmake --install, under /usr, and nothing else.
deb_files=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | grep -v '/$' | sed 's|^\./usr/|./|' | sort)
[ "$deb_files" = "$(tree "$prefix" | sed 's/ (link)$//')" ] ||
  fail "the .deb's files differ from cmake --install's: $(diff <(echo "$deb_files") <(tree "$prefix" | sed 's/ (link)$//'))"
dpkg-deb -x "$deb" "$WORK/deb"
check_layout "$WORK/deb/usr" "the .deb"
check_preload "$WORK/deb/usr" "the unpacked .deb"
# Stripped (CPACK_STRIP_FILES), unlike the build tree's debug binaries.
! objdump -h "$WORK/deb/usr/bin/shunt" | grep '\.debug_info' > /dev/null || fail "the .deb's shunt is not stripped"
pass "the .deb holds the installed files, stripped, and its shunt preloads its library"
