#!/bin/sh
# Memcheck pass over the samples: every sample paper to PDF and EPUB, and the
# series, under valgrind.  Fails on any memory error or definite leak.
# Usage: sh scripts/valgrind.sh [BUILD_DIR]   (default: build)
set -eu
cd "$(dirname "$0")/.."
# TYPESET=path/to/typeset skips the build (used by the meson test)
if [ -n "${TYPESET:-}" ]; then
  bin=$TYPESET
else
  dir=${1:-build}
  BUILD_DIR=$dir sh scripts/build.sh
  bin=$dir/typeset/cli/typeset
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1700000000
# the CLI frees its context at exit (by default it leaves it to the system:
# typeset/cli/main.c), so that a leak is a leak
export TYPESET_FREE_AT_EXIT=1
# a cache folder of the run's own, empty at its start: the first paper makes
# and writes every cached thing (font subsets, faces, the hyphenation
# automaton), the later ones and the series read them back — whatever the
# machine's own cache folder holds (a warm one hid an uninitialised write)
export TYPESET_CACHE_DIR="$tmp/cache"
mkdir -p "$TYPESET_CACHE_DIR"
vg="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions=scripts/valgrind.supp"
fail=0
for f in samples/*.md; do
  b=$(basename "$f" .md)
  if $vg "$bin" "$f" -q -o "$tmp/$b.pdf" -o "$tmp/$b.epub" 2>"$tmp/$b.log"; then
    echo "valgrind: ok   $b"
  else
    echo "valgrind: FAIL $b"; cat "$tmp/$b.log"; fail=1
  fi
done
if $vg "$bin" series samples/series.yaml -q -j 2 --out "$tmp/series" 2>"$tmp/series.log"; then
  echo "valgrind: ok   series"
else
  echo "valgrind: FAIL series"; cat "$tmp/series.log"; fail=1
fi
# and once as a user runs it, the context left to the system at exit: still
# reachable then, never a definite leak
if TYPESET_FREE_AT_EXIT= $vg "$bin" samples/grain-corridors.md -q -o "$tmp/left.pdf" \
    -o "$tmp/left.epub" 2>"$tmp/left.log"; then
  echo "valgrind: ok   grain-corridors, context left to the system at exit"
else
  echo "valgrind: FAIL grain-corridors, context left to the system at exit"
  cat "$tmp/left.log"; fail=1
fi
exit $fail
