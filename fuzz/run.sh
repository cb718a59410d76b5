#!/bin/sh
# fuzz/run.sh BUILD TARGET SECONDS [extra libFuzzer flags]
# Runs fuzz_TARGET from BUILD (a -Dfuzz=true build, fuzz/README.md) for
# SECONDS with a seed corpus assembled from samples/, styles/ and
# tests/adversarial/files/ plus fuzz/regressions/TARGET/.  The corpus that
# libFuzzer grows is kept in $FUZZ_WORK/TARGET (default /tmp/typeset-fuzz);
# crash inputs land in $FUZZ_WORK/TARGET-artifacts/.
set -eu
build=$1 target=$2 secs=$3
shift 3
src=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-/tmp/typeset-fuzz}
corpus=$work/$target
seeds=$work/$target-seeds
arts=$work/$target-artifacts
mkdir -p "$corpus" "$seeds" "$arts"
# the inputs pretend to live in samples/ of the folder the build was
# configured from (compiled in as TS_DATA_DIR): gone, every image and
# paper glob of the inputs would be missing and the run would quietly
# fuzz less of the code
built_from=$(sed -n 's/.*"source": *"\([^"]*\)".*/\1/p' "$build/meson-info/meson-info.json" 2>/dev/null | head -n 1)
if [ -n "$built_from" ] && [ ! -d "$built_from/samples" ]; then
  echo "run.sh: $build was configured from $built_from, which has no samples/ folder now" >&2
  exit 2
fi
case $target in
  markdown|pipeline)
    cp "$src"/samples/*.md "$seeds"/ 2>/dev/null || true
    cp "$src"/tests/adversarial/files/*.md "$seeds"/ 2>/dev/null || true
    dict=$src/fuzz/markdown.dict max=65536 ;;
  style)
    cp "$src"/styles/*.yaml "$seeds"/
    cp "$src"/tests/adversarial/files/*.yaml "$seeds"/ 2>/dev/null || true
    dict=$src/fuzz/yaml.dict max=16384 ;;
  manifest)
    cp "$src"/samples/series.yaml "$seeds"/
    dict=$src/fuzz/yaml.dict max=16384 ;;
  image)
    cp "$src"/samples/images/*.png "$seeds"/ 2>/dev/null || true
    dict=$src/fuzz/image.dict max=65536 ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
[ -d "$src/fuzz/regressions/$target" ] && cp "$src/fuzz/regressions/$target"/* "$seeds"/ 2>/dev/null || true
export TYPESET_DATA_DIR="$src"
# the font subsets kept between runs (core/dcache.c) go to a folder of the
# fuzzing's own, not the user's cache: every unit writes new ones
export TYPESET_CACHE_DIR="${TYPESET_CACHE_DIR:-$work/cache}"
mkdir -p "$TYPESET_CACHE_DIR"
# libhyphen leaks a little on purpose (see scripts/test.sh); nothing else may
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$src/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# -timeout is wall-clock time: under `nice -n 19` on a loaded machine a unit
# that needs 0.2 s of CPU waited over 10 s for it (two false timeouts on
# 2026-12-02), so the default is 60 s; a real hang is still caught, and units
# over 10 s are still saved as slow-unit-* (-report_slow_units).
# the committed corpus (fuzz/corpus/TARGET, read only: new units go to $corpus)
kept=
[ -d "$src/fuzz/corpus/$target" ] && kept=$src/fuzz/corpus/$target
exec "$build/fuzz/fuzz_$target" -max_len=$max -timeout=${FUZZ_TIMEOUT:-60} -rss_limit_mb=2048 \
  -dict="$dict" -max_total_time="$secs" -print_final_stats=1 \
  -artifact_prefix="$arts/" "$@" "$corpus" "$seeds" ${kept:+"$kept"}
