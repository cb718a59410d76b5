#!/bin/sh
# The tests: install what is missing, build, and run every test suite twice —
# in an optimised build and under AddressSanitizer + UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh

# static analysis first: cppcheck and clang-tidy over typeset/ (scripts/static-analysis.sh;
# clang-tidy's checks in .clang-tidy, about 200 s of CPU)
sh scripts/static-analysis.sh

BUILD_DIR=build sh scripts/build.sh
meson test -C build --print-errorlogs --num-processes 2

BUILD_DIR=build-asan sh scripts/build.sh -Db_sanitize=address,undefined -Db_lundef=false
# libhyphen leaks inside its own dictionary loader (tests/text/lsan.supp)
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
LSAN_OPTIONS="suppressions=$(pwd)/tests/text/lsan.supp:print_suppressions=0" \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3

python3 scripts/test-summary.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json
