#!/bin/sh
# Configures (once) and builds typeset into BUILD_DIR (default: build).
# Extra arguments go to `meson setup` on the first configuration.
set -eu
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" --buildtype=debugoptimized "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null
