#!/bin/sh
# The main job: install what is missing, build, and render the sample series
# (samples/series.yaml) to PDF and EPUB under out/.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
sh scripts/build.sh
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 1700000000)}"
./build/typeset/cli/typeset series samples/series.yaml --out out "$@"
echo "run: outputs are in $(pwd)/out:"
ls -1 out | sed 's/^/  /'
