#!/bin/sh
# fuzz/coverage.sh BUILD TARGET [DIR...]
#
# Source coverage of a fuzz target's inputs, replayed deterministically: the
# committed corpus (fuzz/corpus/TARGET), then the same with the inputs of
# each DIR (a fuzzing run's work folder), through the target's regression
# runner (fuzz_regress_TARGET) built with clang's source-based coverage.
# Prints the regions, branches and lines of typeset/ that each set reaches, and the
# source lines the DIRs reach that the corpus does not.
#
# Why not libFuzzer's own `cov:`: it counts every edge the process has run
# since it started, and the pipeline's edges depend on more than the input —
# the cache folder (a subset or a face read back instead of made: a run
# shares it between its processes, so they keep finding each other's
# entries), the threads (which one makes a shared entry first) and the
# hyphenation patterns' compiled form.  A run's `cov:` therefore creeps for
# hours after its inputs stop reaching new code.  Here every set runs twice
# in one process each, with an empty cache folder and then with the one the
# first pass filled, so both sides of every cache are counted for every set
# alike, and what is left of the difference is code that inputs reach.
# The runner is held to one core (taskset), as fuzz/run.sh's processes are
# in fuzz/README.md's runs: a context then makes no threads of its own, and
# the lines a second thread reaches or not by its timing (the prewarm, the
# parallel subsets) do not come and go from run to run.
#
# BUILD is made when missing (clang, -fprofile-instr-generate
# -fcoverage-mapping, no sanitizer).  Needs clang, llvm-profdata and
# llvm-cov of the same version (Debian 12: clang-14, llvm-14) and python3.
set -eu
[ $# -ge 2 ] || { echo "usage: fuzz/coverage.sh BUILD TARGET [DIR...]" >&2; exit 2; }
build=$1 target=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
ver=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
pick() { # the tool of clang's version, else the unversioned one
  if command -v "$1-$ver" >/dev/null 2>&1; then echo "$1-$ver"; else echo "$1"; fi
}
profdata=$(pick llvm-profdata) llvmcov=$(pick llvm-cov)
if [ ! -f "$build/build.ninja" ]; then
  (cd "$src" && CC=clang meson setup "$build" --buildtype=debugoptimized -Db_lundef=false \
    -Dc_args="-fprofile-instr-generate -fcoverage-mapping" \
    -Dc_link_args=-fprofile-instr-generate) >/dev/null
fi
ninja -C "$build" "fuzz/fuzz_regress_$target" >/dev/null
runner=$build/fuzz/fuzz_regress_$target
# the first core this process may run on
cpu=$(taskset -cp $$ | sed 's/.*: *//; s/[,-].*//')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# replay NAME DIR...: both passes, into $work/NAME.profdata
replay() {
  name=$1
  shift
  mkdir -p "$work/cache-$name"
  for pass in cold warm; do
    TYPESET_DATA_DIR=$src TYPESET_CACHE_DIR=$work/cache-$name \
      LLVM_PROFILE_FILE=$work/$name-$pass.profraw taskset -c "$cpu" "$runner" "$@" \
      >/dev/null 2>"$work/$name-$pass.err" ||
      { tail -n 5 "$work/$name-$pass.err" >&2; echo "coverage.sh: $runner failed ($name, $pass pass)" >&2; exit 1; }
  done
  "$profdata" merge -o "$work/$name.profdata" "$work/$name-cold.profraw" "$work/$name-warm.profraw"
}

# totals NAME LABEL: typeset/'s regions and lines reached
totals() {
  "$llvmcov" report "$runner" -instr-profile="$work/$1.profdata" 2>/dev/null |
    awk -v label="$2" '$1 ~ /(^|\/)typeset\// {r += $2; rm += $3; l += $8; lm += $9; b += $11; bm += $12}
      END {printf "%-34s regions %5d of %5d  branches %5d of %5d  lines %5d of %5d\n",
                  label, r - rm, r, b - bm, b, l - lm, l}'
}

replay corpus "$src/fuzz/corpus/$target"
totals corpus "fuzz/corpus/$target ($(ls "$src/fuzz/corpus/$target" | wc -l) inputs)"
[ $# -gt 0 ] || exit 0
n=0
for d in "$@"; do n=$((n + $(ls "$d" | wc -l))); done
replay extra "$@"
"$profdata" merge -o "$work/both.profdata" "$work/corpus.profdata" "$work/extra.profdata"
totals both "+ the DIRs ($n inputs)"
"$llvmcov" show "$runner" -instr-profile="$work/corpus.profdata" >"$work/corpus.txt" 2>/dev/null
"$llvmcov" show "$runner" -instr-profile="$work/both.profdata" >"$work/both.txt" 2>/dev/null
python3 - "$work/corpus.txt" "$work/both.txt" <<'EOF'
import re, sys
def reached(path):
    out, cur = {}, None
    for line in open(path, errors='replace'):
        if line.startswith('/') and line.rstrip().endswith(':'):
            cur = line.strip()[:-1]
            continue
        m = re.match(r'\s*(\d+)\|\s*([0-9.]+[kMG]?)\|(.*)', line)
        if m and cur and '/typeset/' in cur:
            out[(cur, int(m.group(1)))] = (m.group(2) != '0', m.group(3))
    return out
a, b = reached(sys.argv[1]), reached(sys.argv[2])
new = sorted(k for k in b if b[k][0] and not a.get(k, (False,))[0])
print('lines the DIRs reach that the corpus does not: %d' % len(new))
for f, n in new:
    print('  %s:%d  %s' % (f[f.rfind('/typeset/') + 1:], n, b[(f, n)][1].strip()[:90]))
EOF
