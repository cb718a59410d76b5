#!/bin/sh
# Installs every Debian 12 package that building, running and testing typeset
# needs. Installs only what is missing; runs `apt-get update` first when it has
# to install something. Safe to run repeatedly.
set -eu
cd "$(dirname "$0")/.."

PKGS="
  build-essential clang meson ninja-build pkg-config
  libhpdf-dev libfreetype-dev libzip-dev libdeflate-dev libharfbuzz-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev libyaml-dev
  libfontconfig-dev libicu-dev libhyphen-dev libpng-dev libgif-dev check
  hyphen-en-us hyphen-en-gb hyphen-ru hyphen-de hyphen-fr hyphen-el
  fonts-linuxlibertine fonts-paratype fonts-dejavu-core
  fonts-noto-core fonts-noto-cjk fonts-noto-mono
  qpdf poppler-utils epubcheck libclang-rt-14-dev valgrind cppcheck clang-tidy strace
  chromium
"

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  echo "setup: installing:$missing" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "setup: all packages present" >&2

# Ace by DAISY, the EPUB accessibility checker the integration tests run on
# every sample EPUB (it drives the Chromium above).  From the npm registry at
# the versions of tests/ace/package-lock.json, into tests/ace/node_modules
# (ignored by git); no install scripts run, so neither Electron nor a second
# Chromium is downloaded.  Needs Node.js 20 or later.
if [ ! -x tests/ace/node_modules/.bin/ace-cli ]; then
  if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    echo "setup: installing: nodejs npm" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "setup: installing Ace by DAISY (npm ci in tests/ace)" >&2
  (cd tests/ace && ELECTRON_SKIP_BINARY_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 \
     npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
fi
echo "setup: Ace by DAISY present" >&2
