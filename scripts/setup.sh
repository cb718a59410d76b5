#!/bin/sh
# Installs every Debian 12 package that building, running and testing typeset
# needs. Installs only what is missing; runs `apt-get update` first when it has
# to install something. Safe to run repeatedly.
set -eu

PKGS="
  build-essential clang meson ninja-build pkg-config
  libhpdf-dev libfreetype-dev libzip-dev libdeflate-dev libharfbuzz-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev libyaml-dev
  libfontconfig-dev libicu-dev libhyphen-dev libpng-dev libgif-dev check
  hyphen-en-us hyphen-en-gb hyphen-ru hyphen-de hyphen-fr hyphen-el
  fonts-linuxlibertine fonts-paratype fonts-dejavu-core
  fonts-noto-core fonts-noto-cjk fonts-noto-mono
  qpdf poppler-utils epubcheck libclang-rt-14-dev valgrind cppcheck clang-tidy
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
